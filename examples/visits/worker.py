"""Moves queued visits from Redis into PostgreSQL."""
import os
import signal
import sys
import time
from datetime import datetime, timezone

import psycopg2
import redis

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

cache = redis.Redis(host=os.environ.get("REDIS_HOST", "redis"), port=6379,
                    socket_connect_timeout=2, decode_responses=True)


def connect():
    """Connect to PostgreSQL (PG* environment), waiting while it starts."""
    for attempt in range(30):
        try:
            conn = psycopg2.connect(connect_timeout=2)
            conn.autocommit = True
            return conn
        except psycopg2.OperationalError as e:
            print("worker: waiting for the database: %s" % str(e).strip(), flush=True)
            time.sleep(1)
    sys.exit("worker: no database after 30 tries")


def store(conn, item):
    stamp, client, path = item.split(" ", 2)
    at = datetime.fromtimestamp(float(stamp), timezone.utc)
    with conn.cursor() as cur:
        cur.execute("INSERT INTO visits (at, client, path) VALUES (%s, %s, %s)",
                    (at, client, path))
    print("worker: stored visit from %s to %s" % (client, path), flush=True)


def main():
    conn = connect()
    with conn.cursor() as cur:
        cur.execute("""CREATE TABLE IF NOT EXISTS visits (
                         id serial PRIMARY KEY,
                         at timestamptz NOT NULL,
                         client text NOT NULL,
                         path text NOT NULL)""")
    print("worker: ready", flush=True)
    while True:
        item = cache.blpop("visits", timeout=5)
        if item is None:
            continue
        try:
            store(conn, item[1])
        except psycopg2.OperationalError as e:
            # the database restarted (restart: always): reconnect, try again
            print("worker: lost the database: %s" % str(e).strip(), flush=True)
            conn = connect()
            store(conn, item[1])


if __name__ == "__main__":
    main()
