"""Evidence weights: why a commit is believed to fix the crash, and how much.

A candidate's score is the sum of the weights of its evidence.  The weights rank the
kinds of proof a kernel engineer trusts, strongest first:

=====================  ======  ==========================================================
kind                   weight  meaning
=====================  ======  ==========================================================
removes-line             +50   the commit deletes the crashing line (the BUG_ON/WARN that
                               fired) and adds no copy of it: the crash cannot recur there
changes-condition        +40   it rewrites the asserted condition of that line
fixes-blamed             +40   its ``Fixes:`` names the commit that last changed the
                               crashing line at the base (``git blame``): the bug it fixes
                               was introduced exactly there.  When the blamed commit is a
                               stable backport ("commit X upstream."), naming X counts too
rewrites-line            +30   it deletes the crashing (non-assertion) line
removes-assertion        +20   no crash line known: it deletes a BUG/WARN assertion inside
                               the crash function
fixes-function           +30   its ``Fixes:`` names a commit that last changed some line of
                               the crash function at the base
quotes-title             +25   its message quotes the crash title
quotes-site              +20   its message quotes a report at the crash file and function
fixes-base               +20   its ``Fixes:`` names another commit reachable from the base
near-line                +10   it changes lines within three of the crashing line (found by
                               its text in the commit's parent) but not the line itself
changes-function         +15   it changes the crash function (``git log -L``)
names-function           +10   its message names the crash function
names-caller              +4   its message names another function of the call trace (≤2)
cc-stable                 +5   ``Cc: stable``: its author asked for backports
stable-backport           +5   it was backported to the base's stable branch after the base
touches-file              +1   it changes the crash file (every candidate has this)
moves-line                +3   it removes the crashing line but adds it back unchanged
fixes-newer              -15   its ``Fixes:`` names only commits the base does not contain:
                               it fixes a bug the crashed kernel cannot have
reverted                 -30   a later commit reverts it
in-base                  -60   a backport of it is already in the base: the crashed kernel
                               had it, so it did not prevent this crash
=====================  ======  ==========================================================

Ties are broken by the earlier first release, then by the older commit, so the first
commit that fixed the problem comes before follow-ups.
"""

from __future__ import annotations

WEIGHTS: dict[str, int] = {
    "removes-line": 50,
    "changes-condition": 40,
    "fixes-blamed": 40,
    "rewrites-line": 30,
    "fixes-function": 30,
    "removes-assertion": 20,
    "quotes-title": 25,
    "quotes-site": 20,
    "fixes-base": 20,
    "near-line": 10,
    "changes-function": 15,
    "names-function": 10,
    "names-caller": 4,
    "cc-stable": 5,
    "stable-backport": 5,
    "touches-file": 1,
    "moves-line": 3,
    "fixes-newer": -15,
    "reverted": -30,
    "in-base": -60,
}


def weight(kind: str) -> int:
    return WEIGHTS[kind]
