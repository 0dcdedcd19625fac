# -*- coding: utf-8 -*-
# GPL-2.0-or-later (see the kmend repository)
"""Run kmend's on-host verbs (``kmend.onhost``) from the collection's modules.

kmend reaches a host as the zipapp the playbooks ship (``kmend.pyz``, pure Python, run by
the host's own python3), or as an installed ``kmend`` package (``python3 -m
kmend.onhost``).  Every call is an argv list; the verb prints one JSON document.
"""

from __future__ import annotations

import json
import os
import sys

DEFAULT_PYZ = "/usr/local/lib/kmend/kmend.pyz"


COMMON_ARGS = dict(
    root=dict(type="path", default="/"),
    kmend=dict(type="path", default=DEFAULT_PYZ),
)

def kmend_argv(module, verb, args):
    pyz = module.params["kmend"]
    if pyz and os.path.isfile(pyz):
        return [sys.executable, pyz, verb] + list(args)
    return [sys.executable, "-m", "kmend.onhost", verb] + list(args)


#: the on-host verbs run on Python 3.9 and later (Debian 11, RHEL 9, Ubuntu 22.04).
MIN_PYTHON = (3, 9)


def run_kmend(module, verb, args, ok=(0,)):
    """(rc, document) of one verb; fails the task on any other exit code or bad JSON."""
    if sys.version_info < MIN_PYTHON:
        module.fail_json(msg="kmend needs python3 >= %d.%d on the host; this one runs %s - "
                         "install a newer python3 and set ansible_python_interpreter"
                         % (MIN_PYTHON + (sys.version.split()[0],)))
    argv = kmend_argv(module, verb, args)
    rc, out, err = module.run_command(argv, check_rc=False)
    if rc not in ok:
        module.fail_json(msg="kmend %s failed (exit %d): %s" % (verb, rc, err.strip()),
                         rc=rc, cmd=argv, stderr=err)
    try:
        doc = json.loads(out)
    except ValueError:
        module.fail_json(msg="kmend %s printed no JSON document" % verb, rc=rc, cmd=argv,
                         stdout=out[-4000:], stderr=err[-4000:])
    return rc, doc
