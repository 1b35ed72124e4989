#!/usr/bin/env python3
"""Helpers for bench/kube-density.sh (run by it, not by hand).

  density.py podtimes WATCHLOG
      WATCHLOG holds lines "EPOCH_SECONDS NAME|NODE|PHASE|CONDITIONS" (the
      timestamped output of `kubectl get pods -w -o jsonpath=...`, CONDITIONS
      as "Type=Status," pairs). Prints one tab-separated line:
        pods  first_bound_to_last_ready_ms  bound_to_ready_median_ms
        bound_to_ready_max_ms  seen_to_bound_median_ms
      "seen" is the first line naming the pod (the watch's ADDED event),
      "bound" the first line with a node, "ready" the first with Ready=True.

  density.py mem berth ROOT BERTH_EXE NODE_PID
  density.py mem kubelet KUBELET_PID CONTAINERD_PID CONTAINERD_SOCKET
      Sums VmRSS and Pss (/proc/PID/smaps_rollup) of a node's processes by
      group and prints a JSON object {group: {"n":, "rss_kb":, "pss_kb":}}.
      berth: "agent" = the node agent NODE_PID and its children that run the
      berth binary (watcher, heartbeat, kubelet API, workers); "monitors" =
      the MonitorPid of every container in ROOT/containers/*/state.json;
      "pause" = the pid 1 of the pods' infra containers (a berth fork named
      pause); "dns" = berth-dns processes of this --root. kubelet: "kubelet",
      "containerd", "shims" = containerd-shim-runc-v2 processes started for
      CONTAINERD_SOCKET, "pause" = their children named pause. The pods' own
      processes (sh, sleep) are in no group on either side.
"""
import json
import os
import statistics
import sys


def die(msg):
    sys.stderr.write("density.py: %s\n" % msg)
    sys.exit(1)


def podtimes(path):
    seen, bound, ready = {}, {}, {}
    try:
        f = open(path)
    except OSError as e:
        die("%s: %s" % (path, e.strerror))
    with f:
        for n, line in enumerate(f, 1):
            stamp, _, rest = line.rstrip("\n").partition(" ")
            if not rest:
                continue
            try:
                t = float(stamp)
            except ValueError:
                die("%s:%d: no timestamp at the start of the line" % (path, n))
            f4 = rest.split("|")
            if len(f4) != 4:
                die("%s:%d: not NAME|NODE|PHASE|CONDITIONS: %s" % (path, n, rest))
            name, node, _phase, conds = f4
            seen.setdefault(name, t)
            if node and node != "<no value>":
                bound.setdefault(name, t)
            if "Ready=True" in conds.split(","):
                ready.setdefault(name, t)
    done = [p for p in ready if p in bound]
    if not done:
        print("0\t-\t-\t-\t-")
        return
    b2r = [(ready[p] - bound[p]) * 1000 for p in done]
    s2b = [(bound[p] - seen[p]) * 1000 for p in done]
    span = (max(ready[p] for p in done) - min(bound[p] for p in done)) * 1000
    print("%d\t%.0f\t%.0f\t%.0f\t%.0f" % (len(done), span, statistics.median(b2r), max(b2r),
                                           statistics.median(s2b)))


def read_mem(pid):
    rss = pss = None
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        return None
    if rss is None or pss is None:
        return None
    return rss, pss


def procs():
    """{pid: (ppid, comm, exe, argv)} of every process we may read."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
            comm = st[st.index("(") + 1:st.rindex(")")]
            ppid = int(st[st.rindex(")") + 2:].split()[1])
            try:
                exe = os.readlink("/proc/%d/exe" % pid)
            except OSError:
                exe = ""
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            out[pid] = (ppid, comm, exe, [a.decode(errors="replace") for a in argv])
        except (OSError, ValueError):
            continue
    return out


def add(groups, name, pids):
    g = groups.setdefault(name, {"n": 0, "rss_kb": 0, "pss_kb": 0})
    for p in sorted(set(pids)):
        m = read_mem(p)
        if m:
            g["n"] += 1
            g["rss_kb"] += m[0]
            g["pss_kb"] += m[1]


def mem_berth(root, exe, node_pid):
    ps = procs()
    exe = os.path.realpath(exe)
    node_pid = int(node_pid)
    if node_pid not in ps:
        die("the node agent (pid %d) is not running" % node_pid)
    monitors, pause = [], []
    cdir = os.path.join(root, "containers")
    for cid in os.listdir(cdir) if os.path.isdir(cdir) else []:
        try:
            with open(os.path.join(cdir, cid, "state.json")) as f:
                st = json.load(f)
        except (OSError, ValueError):
            continue
        if st.get("Status") != "running":
            continue
        m, p = st.get("MonitorPid"), st.get("Pid")
        if m in ps:
            monitors.append(m)
        if p in ps and ps[p][1] == "pause" and ps[p][2] == exe:
            pause.append(p)
    agent = [node_pid] + [p for p, v in ps.items() if v[0] == node_pid and v[2] == exe and v[1] != "berth-dns"]
    rootarg = "--root=" + root
    dns = [p for p, v in ps.items() if v[1] == "berth-dns" and v[2] == exe and rootarg in v[3]]
    groups = {}
    add(groups, "agent", agent)
    add(groups, "monitors", monitors)
    add(groups, "pause", pause)
    add(groups, "dns", dns)
    print(json.dumps(groups))


def mem_kubelet(kubelet_pid, containerd_pid, sock):
    ps = procs()
    kubelet_pid, containerd_pid = int(kubelet_pid), int(containerd_pid)
    for p, what in ((kubelet_pid, "kubelet"), (containerd_pid, "containerd")):
        if p not in ps:
            die("%s (pid %d) is not running" % (what, p))
    shims = [p for p, v in ps.items()
             if v[1].startswith("containerd-shim") and sock in " ".join(v[3])]
    pause = [p for p, v in ps.items() if v[0] in shims and v[1] == "pause"]
    groups = {}
    add(groups, "kubelet", [kubelet_pid])
    add(groups, "containerd", [containerd_pid])
    add(groups, "shims", shims)
    add(groups, "pause", pause)
    print(json.dumps(groups))


def main(argv):
    if len(argv) == 3 and argv[1] == "podtimes":
        podtimes(argv[2])
    elif len(argv) == 6 and argv[1] == "mem" and argv[2] == "berth":
        mem_berth(argv[3], argv[4], argv[5])
    elif len(argv) == 6 and argv[1] == "mem" and argv[2] == "kubelet":
        mem_kubelet(argv[3], argv[4], argv[5])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
