"""What does kmend's rollout cost over a plain Ansible copy + depmod, on the same lab?

The lab (scripts/fleet_lab.py): 4 hosts over real SSH on the loopback, each with its own
root holding a real Debian 6.1.0-47 or -57 module tree.  Both runs start from fresh host
roots and the same built modules (built once, untimed, by a warm-up rollout), with
pipelining on and the same inventory:

* reference: one play over all hosts that copies the module into
  ``lib/modules/R/updates/kmend/`` and runs ``depmod -b ROOT R`` — nothing else;
* measured: ``kmend.fleet.rollout`` with no crash planted and a soak of 0 s — status,
  staging, the journaled install (backup, sha256, depmod, initramfs check), the health
  gate (doctor + recurrence scan) in the serial batches [1, 10%, 100%].

Prints both wall times (median of the rounds) and the ratio; asserts nothing.

    .venv/bin/python bench/rollout.py [ROUNDS]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LAB = REPO / "scripts/fleet_lab.py"
PLAYBOOKS = REPO / "ansible/ansible_collections/kmend/fleet/playbooks"
BASELINE = """
- name: Plain Ansible install of a module (the reference)
  hosts: fleet
  gather_facts: false
  tasks:
    - ansible.builtin.file:
        path: "{{ kmend_root }}/lib/modules/{{ kmend_kernel }}/updates/kmend"
        state: directory
        mode: "0755"
    - ansible.builtin.copy:
        src: "{{ kmend_out }}/build/{{ kmend_kernel }}/src/crashmod.ko"
        dest: "{{ kmend_root }}/lib/modules/{{ kmend_kernel }}/updates/kmend/crashmod.ko"
        mode: "0644"
    - ansible.builtin.command:
        argv: [depmod, -b, "{{ kmend_root }}", "{{ kmend_kernel }}"]
"""


def env(lab: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO / "src"),
                ANSIBLE_COLLECTIONS_PATH=str(REPO / "ansible"), ANSIBLE_NOCOLOR="1",
                PYTHONWARNINGS="ignore", ANSIBLE_LOCAL_TEMP=str(lab / "ansible-tmp"),
                ANSIBLE_HOME=str(lab / "ansible-home"), ANSIBLE_RETRY_FILES_ENABLED="False")


def lab_cmd(verb: str, lab: Path) -> None:
    subprocess.run([sys.executable, str(LAB), verb, str(lab)], check=True, timeout=600,
                   stdout=subprocess.DEVNULL)


def playbook(lab: Path, book: Path, *extra: str) -> float:
    ansible = Path(sys.executable).with_name("ansible-playbook")
    argv = [str(ansible), "-i", str(lab / "inventory.ini"), "-e",
            f"kmend_out={lab / 'out'}", *extra, str(book)]
    t0 = time.perf_counter()
    res = subprocess.run(argv, env=env(lab), capture_output=True, text=True, timeout=1800,
                         check=False)
    took = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"{book.name} failed:\n{res.stdout[-3000:]}{res.stderr[-2000:]}")
    return took


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory(prefix="kmend-bench-rollout-") as tmp:
        lab = Path(tmp)
        baseline = lab / "baseline.yml"
        baseline.write_text(BASELINE)
        fix = ["-e", f"kmend_fix_source={lab / 'fix/crashmod'}", "-e", "kmend_module=crashmod",
               "-e", "kmend_soak_seconds=0"]
        kmend_t: list[float] = []
        base_t: list[float] = []
        try:
            lab_cmd("up", lab)
            playbook(lab, PLAYBOOKS / "triage.yml")
            sig = json.loads((lab / "out/triage.json").read_text())["groups"][0]["signature"]
            fix += ["-e", f"kmend_signature={sig}"]
            playbook(lab, PLAYBOOKS / "rollout.yml", *fix)  # warm-up: builds once per release
            for _ in range(rounds):
                for measure in ("kmend", "baseline"):
                    lab_cmd("down", lab)
                    lab_cmd("up", lab)  # fresh roots; the builds in out/ stay
                    if measure == "kmend":
                        playbook(lab, PLAYBOOKS / "triage.yml")  # ships kmend.pyz (untimed)
                        kmend_t.append(playbook(lab, PLAYBOOKS / "rollout.yml", *fix))
                    else:
                        base_t.append(playbook(lab, baseline))
        finally:
            lab_cmd("down", lab)
    k, b = statistics.median(kmend_t), statistics.median(base_t)
    print(f"rollout over 4 hosts, {rounds} round(s): kmend.fleet.rollout {k:.1f} s, "
          f"plain copy+depmod {b:.1f} s, ratio {k / b:.2f}x")
    print("  kmend runs:", " ".join(f"{t:.1f}" for t in kmend_t))
    print("  plain runs:", " ".join(f"{t:.1f}" for t in base_t))


if __name__ == "__main__":
    main()
