"""gcc/modpost output → structured findings and the APIs they name."""

from __future__ import annotations

from kmend.build.diagnostics import needed_apis, parse

# Messages in the shapes gcc 12 and modpost print them (UTF-8 quotes, as gcc prints them
# under a UTF-8 locale, and ASCII quotes as in the C locale).
OUTPUT = """\
make: Entering directory '/usr/src/linux-headers-6.1.0-47-amd64'
  CC [M]  /tmp/b/demo.o
/tmp/b/demo.c: In function ‘demo_bind’:
/tmp/b/demo.c:410:14: error: too many arguments to function ‘evtchn_make_refcounted’
  410 |         rc = evtchn_make_refcounted(port, is_static);
      |              ^~~~~~~~~~~~~~~~~~~~~~
/usr/src/linux-headers-6.1.0-47-common/include/xen/events.h:72:5: note: declared here
/tmp/b/demo.c:416:17: error: implicit declaration of function ‘xen_evtchn_close’ [-Werror=implicit-function-declaration]
/tmp/b/demo.c:545:14: error: ‘IOCTL_EVTCHN_BIND_STATIC’ undeclared (first use in this function); did you mean ‘IOCTL_EVTCHN_BIND_VIRQ’?
/tmp/b/demo.c:546:42: error: storage size of ‘bind’ isn’t known
  546 |                 struct ioctl_evtchn_bind bind;
      |                                          ^~~~
/tmp/b/demo.c:546:42: warning: unused variable ‘bind’ [-Wunused-variable]
/tmp/b/demo.c:55:10: error: 'const struct file_operations' has no member named 'fop_flags'
/tmp/b/sub/x.c:1:10: fatal error: linux/string_choices.h: No such file or directory
/tmp/b/demo.c:9:1: error: unknown type name 'fop_flags_t'
/tmp/b/demo.c:12:5: error: too few arguments to function 'class_create'
/tmp/b/demo.c:13:5: error: invalid use of undefined type 'struct demo_priv'
cc1: some warnings being treated as errors
ERROR: modpost: "totally_nonexistent_symbol_xyz" [/tmp/b/badsym.ko] undefined!
WARNING: modpost: missing MODULE_DESCRIPTION() in /tmp/b/demo.o
make[1]: *** [/usr/src/linux-headers-6.1.0-47-common/scripts/Makefile.modpost:126: /tmp/b/Module.symvers] Error 1
"""


def test_kinds_symbols_and_relative_paths() -> None:
    diags = parse(OUTPUT, "/tmp/b")
    got = [(d.kind, d.symbol, d.file, d.line) for d in diags if d.severity == "error"]
    assert got == [
        ("too-many-arguments", "evtchn_make_refcounted", "demo.c", 410),
        ("missing-function", "xen_evtchn_close", "demo.c", 416),
        ("undeclared", "IOCTL_EVTCHN_BIND_STATIC", "demo.c", 545),
        ("incomplete-type", "struct ioctl_evtchn_bind", "demo.c", 546),
        ("missing-member", "struct file_operations.fop_flags", "demo.c", 55),
        ("missing-header", "linux/string_choices.h", "sub/x.c", 1),
        ("unknown-type", "fop_flags_t", "demo.c", 9),
        ("too-few-arguments", "class_create", "demo.c", 12),
        ("incomplete-type", "struct demo_priv", "demo.c", 13),
        ("undefined-symbol", "totally_nonexistent_symbol_xyz", "badsym.ko", 0),
    ]
    warnings = [d for d in diags if d.severity == "warning"]
    assert next(w.message for w in warnings).startswith("unused variable")
    assert diags[0].source_line == "rc = evtchn_make_refcounted(port, is_static);"


def test_needed_apis_are_distinct_words() -> None:
    needs = needed_apis(parse(OUTPUT, "/tmp/b"))
    assert needs[:4] == [
        "evtchn_make_refcounted() taking more arguments than the target's",
        "function xen_evtchn_close()",
        "identifier IOCTL_EVTCHN_BIND_STATIC",
        "definition of struct ioctl_evtchn_bind",
    ]
    assert "member struct file_operations.fop_flags" in needs
    assert "header <linux/string_choices.h>" in needs
    assert "exported symbol totally_nonexistent_symbol_xyz" in needs
    assert len(needs) == len(set(needs))


def test_notes_and_make_noise_are_not_findings() -> None:
    assert parse("In file included from x.c:1:\nx.h:2:3: note: here\nmake: *** [x] Error 2\n") == []
