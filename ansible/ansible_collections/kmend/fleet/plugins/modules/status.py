#!/usr/bin/python
# -*- coding: utf-8 -*-
# GPL-2.0-or-later (see the kmend repository)

from __future__ import annotations

DOCUMENTATION = r"""
module: status
short_description: The kmend fixes installed on a host, and its kernels
description:
  - The fixes kmend installed per kernel (active when the file still has the installed
    sha256), every transaction journal, the kernel releases with a module tree below
    I(root), and the running kernel when I(root) is C(/).
  - Read-only; supports check mode.
version_added: "0.1.0"
author: kmend
extends_documentation_fragment:
  - kmend.fleet.host
options:
  kernel:
    description: Only this kernel release.
    type: str
"""

EXAMPLES = r"""
- name: What is installed here
  kmend.fleet.status:
  register: st
"""

RETURN = r"""
status:
  description: As C(kmend status --json).
  type: dict
  returned: always
transactions:
  description: Every transaction journal below the root, oldest first.
  type: list
  elements: dict
  returned: always
kernels:
  description: Kernel releases with a module tree below the root.
  type: list
  elements: str
  returned: always
running_kernel:
  description: The running kernel's release when root is C(/), else null.
  type: str
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kmend.fleet.plugins.module_utils.kmend_host import (
    COMMON_ARGS,
    run_kmend,
)


def main():
    spec = dict(kernel=dict(type="str"))
    spec.update(COMMON_ARGS)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    args = ["--root", p["root"]]
    if p["kernel"]:
        args += ["--kernel", p["kernel"]]
    _rc, doc = run_kmend(module, "status", args)
    module.exit_json(changed=False, status=doc["status"], transactions=doc["transactions"],
                     kernels=doc["kernels"], running_kernel=doc["running_kernel"])


if __name__ == "__main__":
    main()
