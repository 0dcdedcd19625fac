"""Kbuild Makefile parsing: module name or source file → objects, sources, local headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmend.errors import InputError
from kmend.source.kbuild import find_module, parse_assignments
from kmend.source.view import OverlayView, TreeView


def write(root: Path, files: dict[str, str]) -> TreeView:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return TreeView(root)


MAKEFILE = """\
# SPDX-License-Identifier: GPL-2.0
obj-$(CONFIG_FOO)\t+= foo-bar.o
obj-m += single.o
obj-y += sub/
foo-bar-y := core.o \\
\tio.o
foo-bar-$(CONFIG_FOO_DEBUG) += debug.o
foo-bar-objs += legacy.o   # a comment
ccflags-y += -I$(src)/inc -DFOO=1
CFLAGS_io.o := -O1
CFLAGS_unrelated.o := -O3
"""


@pytest.fixture()
def tree(tmp_path: Path) -> TreeView:
    return write(tmp_path, {
        "drivers/foo/Makefile": MAKEFILE,
        "drivers/foo/core.c": '#include "foo.h"\n#include <linux/module.h>\n',
        "drivers/foo/io.c": '#include "inc/regs.h"\n',
        "drivers/foo/debug.c": "",
        "drivers/foo/legacy.S": "",
        "drivers/foo/foo.h": '#include "foo_types.h"\n',
        "drivers/foo/foo_types.h": "",
        "drivers/foo/inc/regs.h": '#include "bits.h"\n',
        "drivers/foo/inc/bits.h": "",
        "drivers/foo/single.c": '#include "nothere.h"\n',
        "drivers/foo/sub/Kbuild": "obj-$(CONFIG_SUB) += sub_mod.o\nsub_mod-y := a.o gen.o\n",
        "drivers/foo/sub/Makefile": "obj-m += ignored_because_kbuild_wins.o\n",
        "drivers/foo/sub/a.c": "",
    })


def test_composite_module_with_conditions_flags_and_headers(tree: TreeView) -> None:
    m = find_module(tree, "foo_bar")  # "_" finds the "-" spelling
    assert m.name == "foo-bar" and m.kernel_name == "foo_bar"
    assert m.directory == "drivers/foo" and m.makefile == "drivers/foo/Makefile"
    assert m.config == "CONFIG_FOO"
    assert [(p.object, p.condition) for p in m.parts] == [
        ("core.o", "y"), ("io.o", "y"), ("debug.o", "CONFIG_FOO_DEBUG"), ("legacy.o", "objs")]
    assert m.sources == ("core.c", "io.c", "debug.c", "legacy.S")
    assert set(m.headers) == {"foo.h", "foo_types.h", "inc/regs.h", "inc/bits.h"}
    assert "ccflags-y += -I$(src)/inc -DFOO=1" in m.flag_lines
    assert "CFLAGS_io.o := -O1" in m.flag_lines
    assert not any("unrelated" in f for f in m.flag_lines)
    assert m.tree_paths()[0] == "drivers/foo/Makefile"


def test_single_object_module_and_missing_header_is_not_local(tree: TreeView) -> None:
    m = find_module(tree, "single")
    assert m.sources == ("single.c",) and m.headers == () and m.config is None


def test_source_file_finds_its_module(tree: TreeView) -> None:
    assert find_module(tree, "drivers/foo/io.c").name == "foo-bar"


def test_kbuild_file_wins_over_makefile_and_missing_objects_are_reported(tree: TreeView) -> None:
    m = find_module(tree, "sub_mod")
    assert m.makefile == "drivers/foo/sub/Kbuild"
    assert m.sources == ("a.c",) and m.missing == ("gen.o",)
    with pytest.raises(InputError):
        find_module(tree, "ignored_because_kbuild_wins")


def test_unknown_module_and_tree_without_makefiles(tree: TreeView, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="declares module 'nosuch'"):
        find_module(tree, "nosuch")
    empty = write(tmp_path / "empty", {"drivers/x/x.c": ""})
    with pytest.raises(InputError, match="no Kbuild Makefiles"):
        find_module(empty, "x")


def test_header_outside_the_module_directory_is_refused(tmp_path: Path) -> None:
    view = write(tmp_path, {"d/m/Makefile": "obj-m += m.o\n", "d/m/m.c": '#include "../up.h"\n',
                            "d/up.h": ""})
    with pytest.raises(InputError, match="outside d/m"):
        find_module(view, "m")


def test_symlink_out_of_the_tree_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "secret.h"
    outside.write_text("secret")
    view = write(tmp_path / "t", {"m/Makefile": "obj-m += m.o\n", "m/m.c": '#include "s.h"\n'})
    (tmp_path / "t/m/s.h").symlink_to(outside)
    assert view.read("m/s.h") is None
    assert find_module(view, "m").headers == ()
    with pytest.raises(InputError):
        view.read("../secret.h")


def test_overlay_replaces_files() -> None:
    class Empty:
        label = "empty"

        def read(self, path: str) -> str | None:
            return None

        def makefiles_mentioning(self, words: object) -> list[str]:
            return []

    view = OverlayView(Empty(), {"k/Makefile": "obj-m += k.o\n", "k/k.c": ""}, "mem")
    assert find_module(view, "k").sources == ("k.c",)


def test_assignments_expand_plain_variables_and_join_continuations() -> None:
    a = parse_assignments("OBJS := a.o b.o\nx-y := $(OBJS) \\\n  c.o\n\tnot-an-assignment = 1\n")
    assert [(x.var, x.words) for x in a] == [("OBJS", ("a.o", "b.o")),
                                             ("x-y", ("a.o", "b.o", "c.o"))]


def test_generated_kbuild_keeps_conditions_and_flags(tree: TreeView) -> None:
    from kmend.build.kbuildfile import FILE_MAP, kbuild_text

    text = kbuild_text(find_module(tree, "foo-bar"))
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert lines == [
        "obj-m += foo-bar.o",
        "foo-bar-y += core.o",
        "foo-bar-y += io.o",
        "foo-bar-$(CONFIG_FOO_DEBUG) += debug.o",
        "foo-bar-y += legacy.o",
        "ccflags-y += -I$(src)/inc -DFOO=1",
        "CFLAGS_io.o := -O1",
        FILE_MAP.format(directory="drivers/foo"),
    ]
    single = kbuild_text(find_module(tree, "single"))
    # ccflags-y applies to every object of the directory; CFLAGS_io.o only to io.o
    assert [ln for ln in single.splitlines() if ln and not ln.startswith("#")] == [
        "obj-m += single.o", "ccflags-y += -I$(src)/inc -DFOO=1",
        FILE_MAP.format(directory="drivers/foo")]


@pytest.mark.parametrize("directory", ["drivers/$(shell touch x)", "a b", "x,y", "a\n$(shell touch y)"])
def test_file_map_leaves_out_a_directory_make_would_expand(tmp_path: Path, directory: str) -> None:
    """The in-tree directory comes from the repository: a name make would expand (or that
    splits cc-option's argument) gets no __FILE__ mapping line at all."""
    from kmend.build.kbuildfile import kbuild_text

    view = write(tmp_path, {f"{directory}/Makefile": "obj-m += m.o\n", f"{directory}/m.c": ""})
    text = kbuild_text(find_module(view, "m"))
    code = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert code == ["obj-m += m.o"]
