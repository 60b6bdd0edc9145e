"""Hostile input at every edge (CLI flags, experiment JSON, URL queries, uploaded CSV bytes, a page's URL): never a
traceback, always one message on one line. Property-based (hypothesis), with few, cheap examples each."""

import json
import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from qulab import cli
from qulab.core.experiment import Scenario
from qulab.core.registry import InvalidInput
from qulab.data.upload import DataError, load_csv
from qulab.threats.poisoning.experiment import PoisoningScenario
from qulab.threats.privacy.experiment import PrivacyScenario

SCENARIOS = (Scenario, PoisoningScenario, PrivacyScenario)
PAGES = Path(__file__).resolve().parents[1] / "src" / "qulab" / "app" / "pages"
CHEAP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Number texts a hostile or careless user types: non-finite, huge, negative, too many digits, not numbers at all.
NUMBER_TEXTS = st.one_of(
    st.sampled_from(["nan", "NaN", "inf", "-inf", "1e999", "-1", "-0.0", "0", "1e308", "9" * 5000, "0x10", "1_000",
                     "", " ", "1,2", "½", "٣", "1e-400", "+.5", "--1"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
JUNK_TEXTS = st.one_of(
    st.sampled_from(["../../etc/passwd", "<script>alert(1)</script>", "csv:", "csv:/nonexistent.csv", "upload:x",
                     "file:x", "csv:" + "x" * 2000, "\x00", "'; DROP TABLE runs;--", "%ff", "a=b", "\u202e",
                     "x" * 2000]),
    st.text(max_size=30),
)
ANY_TEXT = st.one_of(NUMBER_TEXTS, JUNK_TEXTS)


def assert_one_line(message: str) -> None:
    assert message.strip(), "an empty message"
    assert "\n" not in message.strip(), f"more than one line: {message!r}"
    assert "Traceback" not in message


# ---------------------------------------------------------------------------------------------------------------
# 1. CLI flags, in process


def _flag(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """A flag with a value, or the flag alone (its value missing), or nothing."""
    return st.one_of(st.just([]), values.map(lambda value: [name, value]), st.just([name]))


def _cli_argv(store: str) -> st.SearchStrategy[list[str]]:
    # Valid choices are kept cheap: iris or a small moons, logistic regression, FGM; everything else is refused
    # before any fitting.
    data = st.one_of(st.sampled_from(["iris", "moons"]), JUNK_TEXTS)
    model = st.one_of(st.just("logistic_regression"), JUNK_TEXTS)
    attack = st.one_of(st.just("fgm"), JUNK_TEXTS)
    small_eps = st.sampled_from(["0", "0.1", "0.5"])
    pairs = st.one_of(st.sampled_from(["n_samples=100", "noise=0.1", "max_iter=3", "x=1", "=", "noise"]),
                      st.tuples(JUNK_TEXTS, NUMBER_TEXTS).map("=".join))
    extras = st.lists(st.one_of(
        _flag("--seed", NUMBER_TEXTS), _flag("--test-size", NUMBER_TEXTS), _flag("--clip", ANY_TEXT),
        _flag("--norm", st.one_of(st.sampled_from(["inf", "2", "1"]), JUNK_TEXTS)), _flag("--param", pairs),
        _flag("--data-param", pairs), _flag("--scaling", ANY_TEXT), _flag("--target", JUNK_TEXTS),
        st.just(["--json"]), st.lists(JUNK_TEXTS, max_size=2)), max_size=3).map(lambda parts: sum(parts, []))
    common = st.tuples(_flag("--data", data), _flag("--model", model), _flag("--attack", attack), extras).map(
        lambda parts: sum(parts, []))
    evaluate = st.tuples(_flag("--eps", st.one_of(small_eps, NUMBER_TEXTS)), common).map(
        lambda parts: ["evaluate", *parts[0], *parts[1], "--store", store])
    budgets = st.one_of(st.lists(st.one_of(small_eps, NUMBER_TEXTS), min_size=0, max_size=4).map(",".join),
                        st.just(",".join(["0.1"] * 1002)))
    curve = st.tuples(st.one_of(_flag("--eps", budgets),
                                st.tuples(_flag("--eps-max", NUMBER_TEXTS), _flag("--steps", NUMBER_TEXTS)).map(
                                    lambda parts: parts[0] + parts[1])), common).map(
        lambda parts: ["curve", *parts[0], *parts[1], "--store", store])
    listing = st.lists(st.one_of(st.just("--json"), JUNK_TEXTS), max_size=2).map(lambda rest: ["list", *rest])
    return st.one_of(evaluate, curve, listing, st.lists(JUNK_TEXTS, max_size=3))


CLI_STORE = "hostile-runs.sqlite3"  # relative: each test runs in its own temporary directory (chdir below)


@pytest.fixture()
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QULAB_STORE", str(tmp_path / "env-runs.sqlite3"))


@settings(max_examples=40, deadline=None,  # one store for all examples: a repeated experiment is read back, cheaply
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(argv=_cli_argv(CLI_STORE))
@example(argv=["evaluate", "--data", "iris", "--eps", "nan", "--store", CLI_STORE])
@example(argv=["curve", "--data", "moons", "--eps", "0,inf", "--store", CLI_STORE])
@example(argv=["evaluate", "--data", "iris", "--eps", "0.1", "--seed", "9" * 5000, "--store", CLI_STORE])
@example(argv=["evaluate", "--data", "iris", "--eps", "0.1", "--seed", str(2**40), "--store", CLI_STORE])
@example(argv=["evaluate", "--data", "../../etc/passwd", "--eps", "0.1", "--store", CLI_STORE])
@example(argv=["evaluate", "--data", "iris", "--eps", "0.1", "--store", CLI_STORE])
@example(argv=["curve", "--data", "iris", "--eps", "0,0.1,0.2", "--json", "--store", CLI_STORE])
def test_cli_flags_either_run_or_refuse_in_one_line(argv, in_tmp, capsys):
    capsys.readouterr()
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, code)
    event(f"{argv[0] if argv else 'no command'}: exit {code}")  # --hypothesis-show-statistics: how many ran
    if code == 2:
        lines = [line for line in err.splitlines() if not line.startswith("qulab: note:")]
        assert len(lines) == 1, (argv, err)
        assert lines[0].startswith("qulab: error: ")
        assert_one_line(lines[0].removeprefix("qulab: error: "))
    assert "Traceback" not in err


LONG_NAME = "x" * 2000  # longer than any file system's name limit: the operating system refuses the path itself


@pytest.mark.timeout(60)  # before the fix the pipe was read forever (as /dev/zero was, until memory ran out)
@pytest.mark.parametrize("flags", [
    ["--data", f"csv:{LONG_NAME}", "--target", "a"],
    ["--data", f"csv:{LONG_NAME}"],
    ["--data", "csv:pipe.csv", "--target", "a"],
    ["--data", "csv:pipe.csv"],
    ["--data", "csv:pipe.csv", "--target", "a", "--test-data", "csv:pipe.csv"],
    ["--data", "iris", "--model-file", "pipe.skops"],
    ["--data", "iris", "--store", LONG_NAME],
], ids=["long-data", "long-data-no-target", "pipe-data", "pipe-data-no-target", "pipe-test-data", "pipe-model",
        "long-store"])
def test_cli_refuses_paths_the_system_cannot_read_in_one_line(flags, in_tmp, capsys):
    """What the properties and their probes found: a name too long for the file system (OSError tracebacks from the
    CSV reader and the run store) and a device or pipe given as a file (read to the end for its hash)."""
    os.mkfifo("pipe.csv")
    os.symlink("pipe.csv", "pipe.skops")
    argv = ["evaluate", "--eps", "0.1", *flags]
    code = cli.main(argv if "--store" in flags else [*argv, "--store", CLI_STORE])
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if not line.startswith("qulab: note:")]
    assert len(lines) == 1 and lines[0].startswith("qulab: error: "), err
    assert len(lines[0]) < 200, "the refused path is shortened, not echoed in full"


# ---------------------------------------------------------------------------------------------------------------
# 2. Experiment JSON, dicts and URL queries


def _field_names(cls) -> list[str]:
    return list(cls.__dataclass_fields__)


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)


def _dicts(cls) -> st.SearchStrategy[dict]:
    keys = st.one_of(st.sampled_from(_field_names(cls)), st.text(max_size=8), st.integers(), st.none())
    params = st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), JSON_VALUES, max_size=3)
    return st.dictionaries(keys, st.one_of(JSON_VALUES, params), max_size=6)


def _refused_or_valid(make) -> None:
    try:
        make()
    except InvalidInput as error:
        assert_one_line(str(error))


@pytest.mark.parametrize("cls", SCENARIOS, ids=lambda cls: cls.__name__)
def test_scenario_json_refusals_found_by_the_properties(cls):
    """What the properties first found: each raised a bare ValueError, RecursionError or TypeError."""
    for text in ("1" * 5000, '{"seed": ' + "9" * 5000 + "}", "[" * 100_000):
        with pytest.raises(InvalidInput) as refused:
            cls.from_json(text)
        assert_one_line(str(refused.value))
    for data in ({"dataset_params": {1: 2, "a": 3}}, {1: 2, "x": 3}):
        with pytest.raises(InvalidInput) as refused:
            cls.from_dict(data)
        assert_one_line(str(refused.value))


@pytest.mark.parametrize("cls", SCENARIOS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("key", ["seed", "eps", "test_size"])
def test_a_link_number_of_thousands_of_digits_is_refused_without_echoing_it(cls, key):
    """Found on the Attack Lab opened with ?seed=999…: the page's message repeated all 5,000 digits."""
    for text in ("9" * 5000 + "x", "9" * 4000):
        with pytest.raises(InvalidInput) as refused:
            cls.from_query({key: text})
        assert_one_line(str(refused.value))
        assert len(str(refused.value)) < 200


@pytest.mark.parametrize("cls", SCENARIOS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("key", ["seed", "eps", "test_size"])
def test_a_link_number_with_a_line_break_is_quoted_on_one_line(cls, key):
    """Found by hypothesis: ?eps=%0A gave a message whose quoted value broke the line."""
    for text in ("\n", "1\r\n2", "\x00\t"):
        with pytest.raises(InvalidInput) as refused:
            cls.from_query({key: text})
        assert_one_line(str(refused.value))


@pytest.mark.parametrize("cls", SCENARIOS, ids=lambda cls: cls.__name__)
def test_a_seed_too_long_to_print_is_refused_in_one_sentence(cls):
    """Python cannot even print an integer of 5,000 digits: the seed's message raised ValueError instead."""
    with pytest.raises(InvalidInput, match="seed"):
        cls.from_dict({"seed": 10**5000})


@pytest.mark.parametrize("cls", SCENARIOS, ids=lambda cls: cls.__name__)
@CHEAP
@given(text=st.one_of(st.text(max_size=60), JSON_VALUES.map(json.dumps)))
def test_scenario_json_text_is_a_scenario_or_one_sentence(cls, text):
    _refused_or_valid(lambda: cls.from_json(text).validate())


@pytest.mark.parametrize("cls", SCENARIOS, ids=lambda cls: cls.__name__)
@CHEAP
@given(data=st.data())
def test_scenario_dicts_and_their_json_are_a_scenario_or_one_sentence(cls, data):
    value = data.draw(_dicts(cls))
    _refused_or_valid(lambda: cls.from_dict(value).validate())
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return
    _refused_or_valid(lambda: cls.from_json(text).validate())


def _queries(cls) -> st.SearchStrategy[dict[str, str]]:
    known = ["data", "model", "attack", "eps", "norm", "seed", "test_size", "scaling", "defence", "rate", "rates",
             "target_class", "noise", "n_samples", "attack.max_iter", "model.C", "defence.sigma", "dataset.noise",
             *_field_names(cls)]
    keys = st.one_of(st.sampled_from(known), st.text(max_size=8))
    return st.dictionaries(keys, ANY_TEXT, max_size=5)


@pytest.mark.parametrize("cls", SCENARIOS, ids=lambda cls: cls.__name__)
@CHEAP
@given(data=st.data())
def test_url_queries_are_a_scenario_or_one_sentence(cls, data):
    query = data.draw(_queries(cls))
    strict = data.draw(st.booleans())
    _refused_or_valid(lambda: cls.from_query(query, strict=strict))
    raw = data.draw(st.text(alphabet=string.printable + "é\x00%", max_size=60))
    _refused_or_valid(lambda: cls.from_query(raw, strict=strict))


# ---------------------------------------------------------------------------------------------------------------
# 3. Uploaded CSV bytes

CELLS = st.one_of(NUMBER_TEXTS, st.sampled_from(["a", "b", "", '"', '"x,y"', "=1+1", "é", "NA"]),
                  st.text(max_size=6))


@st.composite
def csv_bytes(draw) -> bytes:
    width = draw(st.integers(1, 4))
    header = draw(st.lists(st.text(max_size=5), min_size=width, max_size=width))
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=width + 2), max_size=12))
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = end.join(sep.join(row) for row in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]))
    return text.encode(encoding, errors="replace")


@CHEAP
@given(data=st.one_of(st.binary(max_size=200), csv_bytes()))
@example(data=b"")
@example(data=b"a,b,label\n" + b"".join(b"%d,%d,%d\n" % (i, i * i % 7, i % 2) for i in range(60)))  # loads
@example(data=b"a,b,label\n")
@example(data=b"a,b\n1,2,3,4\n5\n")
@example(data=b"a,label\n" + b"1e999,x\n" * 20 + b"-1e999,y\n" * 20)
@example(data=b"\xff\xfe\x00\x00garbage")
@example(data=b"x,label\n" + "".join(f"{9 * 10**400},{i % 2}\n" for i in range(40)).encode())
def test_uploaded_bytes_load_or_refuse_in_one_line(data):
    try:
        load_csv(data)
    except DataError as error:
        assert_one_line(str(error))


# ---------------------------------------------------------------------------------------------------------------
# 4. A lab page opened with a hostile URL


def test_attack_lab_with_a_hostile_url_says_so_and_starts_from_defaults():
    app = AppTest.from_file(str(PAGES / "attack_lab.py"), default_timeout=180)
    app.query_params.update({"eps": "nan", "data": "../../etc/passwd", "model": "<script>alert(1)</script>",
                             "seed": "9" * 5000, "attack.max_iter": "1e999"})
    app.run()
    assert not app.exception, app.exception
    shown = [e.value for e in app.error]
    assert any("../../etc/passwd" in message and "default data set" in message for message in shown), shown
    assert any("<script>" in message for message in shown), shown
    for message in shown:
        assert_one_line(message)
        assert len(message) < 400, message
        assert "Traceback" not in message
    assert app.title[0].value == "Attack Lab"
    assert app.metric, "the page shows its numbers from the defaults"
