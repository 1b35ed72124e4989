#!/usr/bin/env bash
# The Kubernetes manifest checker (tests/tools/k8s-validate.py, for the
# coming `berth kube convert`) checks what it should: runs its self-test,
# tests/tools/k8s-validate-test.sh, and passes its ok / not ok lines
# through. Needs the shared conformance folder ($BERTH_SHARED or
# <repo>/../shared) and python3 with PyYAML (Debian's python3-yaml).
. "$(dirname "$0")/../lib.sh"

[ -f "$SHARED/conformance/kubernetes/swagger.json" ] ||
	skip_all "no Kubernetes API spec at $SHARED/conformance/kubernetes/swagger.json (set BERTH_SHARED to the shared dir)"
[ -f "$SHARED/conformance/kompose/MANIFEST.tsv" ] ||
	skip_all "no kompose conformance table at $SHARED/conformance/kompose/MANIFEST.tsv"
have_yaml=0
for p in /usr/bin/python3 python3; do
	command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' 2>/dev/null && { have_yaml=1; break; }
done
[ "$have_yaml" = 1 ] || skip_all "python3-yaml is not installed (PyYAML is needed to read the manifests)"

out=$(BERTH_SHARED=$SHARED bash "$TOP/tests/tools/k8s-validate-test.sh" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ $rc -ne 0 ] && ! grep -q '^not ok' <<<"$out"; then
	notok "tests/tools/k8s-validate-test.sh exited $rc"
fi
grep -q '^not ok' <<<"$out" && T_FAILS=$((T_FAILS + 1))
t_done
