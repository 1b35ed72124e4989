/* status.loadBalancer.ingress of a one-machine cluster's LoadBalancer
 * Services: the Ready nodes' InternalIPs (see lbstatus.c). */
#pragma once
#include <stdio.h>
#include "kube/client.h"

/* One pass over the Services; errors are printed to log and retried next time. */
void kube_lbstatus_pass(struct kube_client *kc, FILE *log);
