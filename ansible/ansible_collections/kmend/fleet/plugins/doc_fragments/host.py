# -*- coding: utf-8 -*-
"""The options every kmend.fleet module shares (module_utils.kmend_host.COMMON_ARGS)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  root:
    description:
      - The host's root; kmend reads (and writes) only below it.
    type: path
    default: /
  kmend:
    description:
      - Path on the host of the kmend zipapp (C(playbooks/files/build_pyz.py)); when
        absent the installed kmend package is used.
    type: path
    default: /usr/local/lib/kmend/kmend.pyz
"""
