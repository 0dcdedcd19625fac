#!/usr/bin/python
# -*- coding: utf-8 -*-
# GPL-2.0-or-later (see the kmend repository)

from __future__ import annotations

DOCUMENTATION = r"""
module: rollback
short_description: Roll back a kmend module fix to the byte-identical originals
description:
  - Restores the files an install transaction replaced, byte for byte, reruns depmod
    (and the initramfs when it was rebuilt), as C(kmend rollback) does.
  - Without I(transaction), the newest installed fix (for I(kernel) when given).
  - Nothing installed (or the transaction already rolled back) is C(ok), not changed.
  - Supports check mode (says what it would roll back).
version_added: "0.1.0"
author: kmend
extends_documentation_fragment:
  - kmend.fleet.host
options:
  transaction:
    description: The transaction id (M(kmend.fleet.install) returns it).
    type: str
  kernel:
    description: The newest fix for this kernel release.
    type: str
"""

EXAMPLES = r"""
- name: Undo the fix this play installed
  kmend.fleet.rollback:
    transaction: "{{ fix.transaction_id }}"
"""

RETURN = r"""
changed:
  description: Whether files were (or would be) restored.
  type: bool
  returned: always
transaction:
  description: The transaction's journal after the rollback (state rolled-back).
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kmend.fleet.plugins.module_utils.kmend_host import (
    COMMON_ARGS,
    run_kmend,
)


def main():
    spec = dict(transaction=dict(type="str"), kernel=dict(type="str"))
    spec.update(COMMON_ARGS)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    args = ["--root", p["root"]]
    if p["transaction"]:
        args.insert(0, p["transaction"])
    if p["kernel"]:
        args += ["--kernel", p["kernel"]]
    if module.check_mode:
        args.append("--dry-run")
    _rc, doc = run_kmend(module, "rollback", args)
    module.exit_json(changed=bool(doc["changed"]), transaction=doc.get("transaction") or {},
                     msg=doc.get("msg", ""))


if __name__ == "__main__":
    main()
