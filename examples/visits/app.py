"""Visit counter: counts hits in Redis and queues each visit for the worker,
which stores it in PostgreSQL; the page shows both."""
import os
import signal
import sys
import time

import psycopg2
import redis
from flask import Flask, render_template, request

# pid 1 gets no default SIGTERM action: exit cleanly on `stop`
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

app = Flask(__name__)
cache = redis.Redis(host=os.environ.get("REDIS_HOST", "redis"), port=6379,
                    socket_connect_timeout=2, decode_responses=True)


def stored_visits():
    """Total visits the worker wrote to PostgreSQL, and the latest five."""
    try:
        # libpq reads PGHOST, PGUSER, PGPASSWORD, PGDATABASE
        with psycopg2.connect(connect_timeout=2) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM visits")
            total = cur.fetchone()[0]
            cur.execute("SELECT at, client, path FROM visits ORDER BY id DESC LIMIT 5")
            return total, cur.fetchall()
    except psycopg2.Error:
        return None, []  # the worker has not created the table yet


@app.route("/")
def index():
    hits = cache.incr("hits")
    cache.rpush("visits", "%f %s %s" % (time.time(), request.remote_addr, request.path))
    total, latest = stored_visits()
    return render_template("index.html", hits=hits, stored=total, latest=latest,
                           host=os.uname().nodename)


@app.route("/healthz")
def healthz():
    cache.ping()
    return "ok\n"


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "80")), threaded=True)
