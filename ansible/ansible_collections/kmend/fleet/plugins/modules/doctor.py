#!/usr/bin/python
# -*- coding: utf-8 -*-
# GPL-2.0-or-later (see the kmend repository)

from __future__ import annotations

DOCUMENTATION = r"""
module: doctor
short_description: Is this host healthy? (kmend doctor)
description:
  - Runs C(kmend doctor) on the host - on a Xen dom0 C(xl list) under a hard timeout,
    the store daemon's state, C(/dev/xen/evtchn), the Xen modules; on every host the
    kernel crashes since the last boot in its logs - and returns the verdict.
  - Fails the task when the host is unhealthy, unless I(fail_on_unhealthy=false).
  - Read-only; supports check mode.
version_added: "0.1.0"
author: kmend
extends_documentation_fragment:
  - kmend.fleet.host
options:
  logs:
    description: More logs to read (as C(--log)).
    type: list
    elements: path
  fail_on_unhealthy:
    description: Fail the task when the verdict is not healthy.
    type: bool
    default: true
  xl_timeout:
    description: Seconds before C(xl list) counts as hung.
    type: float
    default: 10
"""

EXAMPLES = r"""
- name: Health gate
  kmend.fleet.doctor:
  register: health
"""

RETURN = r"""
healthy:
  description: The verdict.
  type: bool
  returned: always
verdict:
  description: The verdict in words.
  type: str
  returned: always
next_command:
  description: The command that takes the problem on to a fix.
  type: str
  returned: when unhealthy
crashes:
  description: Kernel crashes since boot.
  type: list
  elements: dict
  returned: always
report:
  description: The whole C(kmend doctor --json) document.
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kmend.fleet.plugins.module_utils.kmend_host import (
    COMMON_ARGS,
    run_kmend,
)


def main():
    spec = dict(logs=dict(type="list", elements="path"),
                fail_on_unhealthy=dict(type="bool", default=True),
                xl_timeout=dict(type="float", default=10.0))
    spec.update(COMMON_ARGS)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    args = ["--root", p["root"], "--xl-timeout", str(p["xl_timeout"])]
    for log in p["logs"] or []:
        args += ["--log", log]
    rc, doc = run_kmend(module, "doctor", args, ok=(0, 1))
    result = dict(changed=False, healthy=bool(doc["healthy"]), verdict=doc["verdict"],
                  next_command=doc.get("next_command"), crashes=doc["crashes"], report=doc)
    if not doc["healthy"] and p["fail_on_unhealthy"]:
        module.fail_json(msg="unhealthy: %s" % doc["verdict"], **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
