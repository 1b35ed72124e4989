#!/usr/bin/env bash
# One command for every test on a fresh Debian 12 machine (as root):
# installs what is missing, builds, runs unit + integration tests.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh" --test
# The Debian base tarball for the tests that build and run the examples
# (t0513) and check egress (t0800): debootstrap runs once (~35 s), later runs
# reuse /var/cache/berth. When it cannot be made (no mirror), those tests
# skip and say why. BERTH_NO_DEBIAN_BASE=1 leaves it out.
if [ -z "${BERTH_NO_DEBIAN_BASE:-}" ]; then
	"$top/scripts/debian-base.sh" --no-berth \
		|| echo "test.sh: scripts/debian-base.sh failed (above); the tests that need the Debian base will skip" >&2
fi
# helm for the chart test (t0722): scripts/helm.sh builds v4.3.2 from the Go
# module proxy once (about 7-10 min on 2 cores from cold caches, 0.1 s once
# /var/cache/berth/helm has it). When it cannot be built, its error is shown
# and t0722's helm checks skip. BERTH_NO_HELM=1 leaves it out.
if [ -z "${BERTH_NO_HELM:-}" ]; then
	"$top/scripts/helm.sh" \
		|| echo "test.sh: scripts/helm.sh failed (above); t0722's helm checks will skip" >&2
fi
# Upstream Kubernetes (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl) and etcd for the tests of kube cluster, kube node and kube apply:
# scripts/k8s-binaries.sh builds v1.36.3 and etcd v3.6.8 from the Go module
# proxy once (about 10 min on 2 cores from cold caches, seconds once
# /var/cache/berth/k8s has them). When they cannot be built, the error is
# shown and those tests skip. BERTH_NO_K8S=1 leaves them out. e2e.test,
# agnhost and ginkgo are for t0760 (upstream's conformance tests against
# berth's node, tests/k8s/conformance.sh); it skips without them.
if [ -z "${BERTH_NO_K8S:-}" ]; then
	"$top/scripts/k8s-binaries.sh" --with e2e.test,agnhost,ginkgo \
		|| echo "test.sh: scripts/k8s-binaries.sh failed (above); the tests against a real control plane will skip" >&2
fi
exec "$top/tests/run.sh" "$@"
