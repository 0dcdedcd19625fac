#!/usr/bin/env bash
# The fleet demo: a lab of 4 hosts over real SSH (scripts/fleet_lab.py: one sshd each on
# the loopback, each its own root with a real Debian 6.1.0-47 or 6.1.0-57 module tree,
# crashes planted on two of them), then with the kmend.fleet Ansible collection:
#   triage (crashes grouped by signature across hosts, HTML report),
#   rollout --check (must change nothing on any host),
#   the rollout of the fix for the most frequent crash: built once per kernel release,
#     the canary batch (web1) installed and healthy, the next batch (web2) hit by the
#     same crash again after the install -> its health gate fails, it is rolled back and
#     the rollout stops (web3, web4 untouched),
#   the same rollout again (must change nothing),
#   triage again: the report now shows the rollout.
# The last line is one JSON object: hosts, signatures, builds, installed, rolled_back,
# untouched, rerun_changed, report.
#   KMEND_SKIP_SETUP=1 skips scripts/setup.sh; KMEND_PYTHON picks the venv's python;
#   KMEND_LAB=DIR keeps the lab there (default: a new temp dir, removed at the end).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
[ "${KMEND_SKIP_SETUP:-}" = 1 ] || bash scripts/setup.sh >&2
py=${KMEND_PYTHON:-$here/.venv/bin/python}
bin=$(dirname "$py")
lab=${KMEND_LAB:-$(mktemp -d /tmp/kmend-fleet-XXXXXX)}
out=$lab/out
watcher=""
cleanup() {
  [ -n "$watcher" ] && kill "$watcher" 2>/dev/null || true
  "$py" scripts/fleet_lab.py down "$lab" >&2 || true
  [ -n "${KMEND_LAB:-}" ] || rm -rf "$lab"
}
trap cleanup EXIT
export PYTHONPATH=$here/src ANSIBLE_COLLECTIONS_PATH=$here/ansible ANSIBLE_NOCOLOR=1 \
  ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_RETRY_FILES_ENABLED=False PYTHONWARNINGS=ignore \
  ANSIBLE_LOCAL_TEMP=$lab/ansible-tmp ANSIBLE_HOME=$lab/ansible-home
pb=$here/ansible/ansible_collections/kmend/fleet/playbooks
play() { "$bin/ansible-playbook" -i "$lab/inventory.ini" -e "kmend_out=$out" "$@"; }

echo "== lab: 4 hosts over SSH" >&2
"$py" scripts/fleet_lab.py up "$lab" >&2
echo "== triage" >&2
play "$pb/triage.yml" >"$lab/triage.log" 2>&1 || { cat "$lab/triage.log" >&2; exit 1; }
read -r signatures sig < <("$py" -c 'import json,sys; g=json.load(open(sys.argv[1]))["groups"]; print(len(g), g[0]["signature"])' "$out/triage.json")
echo "   $signatures signature(s); fixing $sig (the most frequent)" >&2
fix=(-e kmend_fix_source="$lab/fix/crashmod" -e kmend_module=crashmod -e "kmend_signature=$sig"
     -e '{"kmend_provenance": {"fix_subject": "crashmod: warn about the bad state instead of BUG()", "fix_evidence": "the BUG() at crashmod.c:42 named by the crash is the line the fix replaces"}}')

echo "== rollout --check (nothing may change on any host)" >&2
"$py" scripts/fleet_lab.py trees "$lab" >"$lab/trees-before.json"
play "$pb/rollout.yml" "${fix[@]}" --check --diff >"$lab/check.log" 2>&1 || { cat "$lab/check.log" >&2; exit 1; }
"$py" scripts/fleet_lab.py trees "$lab" >"$lab/trees-check.json"
cmp -s "$lab/trees-before.json" "$lab/trees-check.json" || { echo "rollout --check changed a host" >&2; exit 1; }

echo "== rollout (web2 will crash again after its install)" >&2
"$py" scripts/fleet_lab.py recur "$lab" web2 --timeout 600 &
watcher=$!
rc=0
play "$pb/rollout.yml" "${fix[@]}" --diff >"$lab/rollout.log" 2>&1 || rc=$?
kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true
watcher=""
grep -E "health gate failed|PLAY RECAP|^web[0-9]" "$lab/rollout.log" >&2 || true
[ "$rc" = 2 ] || { echo "the rollout should have stopped at the failed gate (exit $rc)" >&2; cat "$lab/rollout.log" >&2; exit 1; }

echo "== rollout again (must change nothing)" >&2
play "$pb/rollout.yml" "${fix[@]}" >"$lab/rerun.log" 2>&1 || true
rerun_changed=$(awk '/PLAY RECAP/{r=1} r && /changed=/{for(i=1;i<=NF;i++) if($i ~ /^changed=/){split($i,a,"="); s+=a[2]}} END{print s+0}' "$lab/rerun.log")
grep -A6 "PLAY RECAP" "$lab/rerun.log" >&2 || true

echo "== triage again: the report with the rollout" >&2
play "$pb/triage.yml" >"$lab/triage2.log" 2>&1 || { cat "$lab/triage2.log" >&2; exit 1; }
if [ -z "${KMEND_LAB:-}" ]; then  # keep the report: the lab dir goes away
  keep=$(mktemp -d /tmp/kmend-fleet-report-XXXXXX)
  cp -r "$out/report" "$keep/" && cp -r "$out/build" "$keep/"
  "$py" scripts/fleet_lab.py summary "$lab" "$out" --signatures "$signatures" --rerun-changed "$rerun_changed" \
    | sed "s#$out/report#$keep/report#"
else
  "$py" scripts/fleet_lab.py summary "$lab" "$out" --signatures "$signatures" --rerun-changed "$rerun_changed"
fi
