"""The aggregators (C++) with the seed's shapes; score and extract functions are Python."""

from __future__ import annotations

import aswarm
from aswarm import Response


def ok(text, i=-1):
    return Response(True, text, agent_index=i)


def bad(i):
    return Response(False, "", error="boom", agent_index=i)


def test_majority_vote_and_concat():
    rs = [ok(" Yes"), ok("no"), ok("YES "), bad(3)]
    assert aswarm.majority_vote(rs) == ("yes", 2 / 3)
    assert aswarm.majority_vote([]) == ("", 0.0)
    assert aswarm.concat(rs) == " Yes\nno\nYES "
    assert aswarm.concat(rs, separator="|") == " Yes|no|YES "


def test_best_of_top_k_with_python_scores():
    rs = [ok("a", 0), ok("ccc", 1), ok("bb", 2), bad(3)]
    assert aswarm.best_of(rs, lambda r: len(r.text)).text == "ccc"
    assert [r.text for r in aswarm.top_k(rs, 2, lambda r: len(r.text))] == ["ccc", "bb"]
    empty = aswarm.best_of([], len)
    assert not empty.success and empty.error == "No responses to select from"


def test_structured_merge_statistics():
    merged, errors = aswarm.structured_merge([ok("[1, 2]", 0), ok('{"a": 1}', 1), ok("nope", 2)])
    assert merged == [1, 2, {"a": 1}]
    assert errors[0]["agent_index"] == 2 and "Expecting value" in errors[0]["error"]
    s = aswarm.statistics([ok("1"), ok("2"), ok("3"), ok("4")])
    assert (s["mean"], s["median"], s["min"], s["max"]) == (2.5, 2.5, 1.0, 4.0)
    assert abs(s["std"] - 1.2909944487358056) < 1e-12
    s2 = aswarm.statistics([ok("x=5"), ok("x=7")], extract_fn=lambda r: float(r.text[2:]))
    assert s2["mean"] == 6.0 and s2["count"] == 2


def test_failure_report():
    rep = aswarm.failure_report([ok("a", 0), bad(1)])
    assert rep == {"total": 2, "success_count": 1, "failure_count": 1,
                   "failures": [{"agent_index": 1, "error": "boom"}]}
