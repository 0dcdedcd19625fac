#!/usr/bin/python
# -*- coding: utf-8 -*-
# GPL-2.0-or-later (see the kmend repository)

from __future__ import annotations

DOCUMENTATION = r"""
module: scan
short_description: The kernel crashes in a host's logs, with their signatures
description:
  - Reads the host's kernel logs (by default C(var/log/kern.log), C(messages) and
    C(syslog) below I(root)) with kmend's crash decoder and returns every crash report
    (signature, title, time, kernel, module, source line) and the reports grouped by
    signature, as C(kmend scan --json) groups them.
  - With I(since), only crashes logged after that time; with I(signature), only that
    crash. The rollout's health gate uses both - has the crash come back since the fix
    was installed?
  - Read-only; supports check mode.
version_added: "0.1.0"
author: kmend
extends_documentation_fragment:
  - kmend.fleet.host
options:
  paths:
    description: Log files or directories to read instead of the default logs.
    type: list
    elements: path
  since:
    description: ISO-8601 time; only crashes with a full timestamp after it are kept.
    type: str
  signature:
    description: Only crashes with this kmend signature.
    type: str
"""

EXAMPLES = r"""
- name: This host's crashes
  kmend.fleet.scan:
  register: crashes

- name: Has the crash come back since the install?
  kmend.fleet.scan:
    since: "{{ fix.installed_at }}"
    signature: 0ac9f34937656ab9
  register: recurrence
  failed_when: recurrence.count > 0
"""

RETURN = r"""
count:
  description: Number of reports kept.
  type: int
  returned: always
reports:
  description: The kept reports (signature, title, timestamp, host, kernel_release, module, location, source).
  type: list
  elements: dict
  returned: always
groups:
  description: Every report in the logs grouped by signature (as kmend scan --json).
  type: list
  elements: dict
  returned: always
files:
  description: The log files that hold the kept reports (what the triage playbook fetches).
  type: list
  elements: str
  returned: always
ansible_facts:
  description: C(kmend_crashes) - the same reports.
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kmend.fleet.plugins.module_utils.kmend_host import (
    COMMON_ARGS,
    run_kmend,
)


def main():
    spec = dict(paths=dict(type="list", elements="path"), since=dict(type="str"),
                signature=dict(type="str"))
    spec.update(COMMON_ARGS)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    args = list(p["paths"] or []) + ["--root", p["root"]]
    if p["since"]:
        args += ["--since", p["since"]]
    if p["signature"]:
        args += ["--signature", p["signature"]]
    _rc, doc = run_kmend(module, "scan", args)
    module.exit_json(changed=False, count=doc["count"], reports=doc["reports"],
                     groups=doc["groups"], files=doc["files"], paths=doc["paths"],
                     errors=doc["errors"], undated_skipped=doc["undated_skipped"],
                     ansible_facts=dict(kmend_crashes=doc["reports"]))


if __name__ == "__main__":
    main()
