/* A small worker pool for the layers of a pull or a push. */
#include "registry/internal.h"

#include <pthread.h>

#define REG_MAX_THREADS 64

struct pool {
	size_t n, next;
	int (*fn)(void *ctx, size_t i, struct berr **err);
	void *ctx;
	pthread_mutex_t mu;
	struct berr *err;
};

static void *pool_worker(void *arg)
{
	struct pool *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		if (p->err || p->next >= p->n) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		size_t i = p->next++;
		pthread_mutex_unlock(&p->mu);
		struct berr *e = NULL;
		if (p->fn(p->ctx, i, &e) < 0) {
			pthread_mutex_lock(&p->mu);
			if (!p->err)
				p->err = e;
			else
				berr_free(e);
			pthread_mutex_unlock(&p->mu);
		}
	}
}

int reg_run_parallel(size_t n, int nthreads, int (*fn)(void *ctx, size_t i, struct berr **err), void *ctx,
		     struct berr **err)
{
	struct pool p = {.n = n, .fn = fn, .ctx = ctx};
	pthread_mutex_init(&p.mu, NULL);
	if (nthreads < 1)
		nthreads = 1;
	if ((size_t)nthreads > n)
		nthreads = (int)n;
	if (nthreads > REG_MAX_THREADS)
		nthreads = REG_MAX_THREADS;
	pthread_t th[REG_MAX_THREADS];
	int started = 0;
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&th[started], NULL, pool_worker, &p) != 0)
			break;
		started++;
	}
	/* no thread at all: the jobs run here, one after the other */
	if (started == 0)
		pool_worker(&p);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&p.mu);
	if (p.err) {
		berr_free(*err);
		*err = p.err;
		return -1;
	}
	return 0;
}
