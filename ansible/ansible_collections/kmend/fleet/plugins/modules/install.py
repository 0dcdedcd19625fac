#!/usr/bin/python
# -*- coding: utf-8 -*-
# GPL-2.0-or-later (see the kmend repository)

from __future__ import annotations

DOCUMENTATION = r"""
module: install
short_description: Install a kernel module fix with kmend (journaled, roll-back-able)
description:
  - Installs a built C(.ko) on the host as C(kmend install) does - the original files
    backed up with their sha256, depmod rerun, the initramfs rebuilt when it holds the
    module, the loaded module reloaded when unused - all journaled under
    C(ROOT/var/lib/kmend/txn/ID) so M(kmend.fleet.rollback) restores the byte-identical
    originals.
  - Installing the identical module again is C(ok) (not changed) and writes no new
    transaction.
  - In check mode the module only plans (C(kmend install --dry-run)); with C(--diff) the
    old and new sha256 and vermagic of the module file are shown.
version_added: "0.1.0"
author: kmend
extends_documentation_fragment:
  - kmend.fleet.host
options:
  module:
    description: Path on the host of the built C(.ko) (copy it there first).
    type: path
    required: true
  kernel:
    description: Target kernel release (default - the module's vermagic).
    type: str
  mode:
    description:
      - C(override) puts the module in C(lib/modules/R/updates/kmend/) and leaves the
        in-tree file alone; C(replace) replaces the in-tree file.
    type: str
    choices: [override, replace]
    default: override
  provenance:
    description:
      - Kept with the fix in its journal (crash signature, fix commit, revision...); the
        fleet report reads C(crash_signature) from it.
    type: dict
  force:
    description: Install even if the load check says the kernel will refuse the module.
    type: bool
    default: false
notes:
  - Needs only the host's python3 and kmod (C(depmod), C(modinfo)); no compiler or headers.
  - Supports check mode and diff mode.
"""

EXAMPLES = r"""
- name: Install the fixed module for this host's kernel
  kmend.fleet.install:
    module: /var/tmp/kmend/crashmod.ko
    kernel: "{{ kmend_kernel }}"
    provenance:
      crash_signature: 0ac9f34937656ab9
      fix_commit: 1a2b3c4d
  register: fix

- name: Reboot when the fix waits for a boot
  ansible.builtin.reboot:
  when: fix.reboot_required
"""

RETURN = r"""
changed:
  description: Whether the module file was (or in check mode would be) written.
  type: bool
  returned: always
reboot_required:
  description: The fix is installed but takes effect only after a boot.
  type: bool
  returned: always
transaction:
  description: The install transaction (the journal kmend wrote, or the plan in check mode).
  type: dict
  returned: always
  sample: {"id": "20261207T030846.891959Z-3363f1", "state": "committed", "kernel": "6.1.0-47-amd64"}
transaction_id:
  description: Its id (for M(kmend.fleet.rollback)).
  type: str
  returned: when a transaction exists
installed_at:
  description: UTC time the transaction was created (the health gate looks for crashes after it).
  type: str
  returned: when a transaction exists
module_path:
  description: The module file below the root.
  type: str
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kmend.fleet.plugins.module_utils.kmend_host import (
    COMMON_ARGS,
    run_kmend,
)


def main():
    spec = dict(
        module=dict(type="path", required=True),
        kernel=dict(type="str"),
        mode=dict(type="str", default="override", choices=["override", "replace"]),
        provenance=dict(type="dict"),
        force=dict(type="bool", default=False),
    )
    spec.update(COMMON_ARGS)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    import json
    import os

    if module.check_mode and not os.path.isfile(p["module"]):
        # the copy task before this one did not run in check mode: nothing to plan from
        module.exit_json(changed=True, reboot_required=False, transaction={},
                         module_path="", msg="%s is not staged yet (check mode)" % p["module"])
    args = [p["module"], "--root", p["root"], "--mode", p["mode"]]
    if p["kernel"]:
        args += ["--kernel", p["kernel"]]
    if p["provenance"]:
        args += ["--provenance", json.dumps(p["provenance"], sort_keys=True)]
    if p["force"]:
        args.append("--force")
    if module.check_mode:
        args.append("--dry-run")
    _rc, doc = run_kmend(module, "install", args)
    txn = doc.get("transaction") or {}
    diff = doc.get("diff") or {}
    result = dict(
        changed=bool(doc.get("changed")),
        reboot_required=bool(doc.get("reboot_required")),
        transaction=txn,
        module_path=diff.get("path", ""),
        msg=doc.get("msg", ""),
    )
    if txn and not module.check_mode or doc.get("identical"):
        result["transaction_id"] = txn.get("id", "")
        result["installed_at"] = txn.get("created", "")
    if module._diff and diff:
        def side(s):
            return "path: %s\nsha256: %s\nvermagic: %s\n" % (
                diff.get("path"), s.get("sha256") or "(absent)", s.get("vermagic") or "-")
        result["diff"] = dict(before=side(diff.get("before") or {}),
                              after=side(diff.get("after") or {}),
                              before_header=diff.get("path"), after_header=diff.get("path"))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
