"""Label and field selectors: parsing, matching and the error messages a user sees."""

from __future__ import annotations

import pytest

from canary.sandbox.apiserver.selectors import (
    SelectorError,
    label_selector_from_map,
    label_selector_from_spec,
    parse_field_selector,
    parse_label_selector,
    selector_to_string,
)

PODINFO = {"app": "podinfo", "tier": "web", "version": "2"}


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("", PODINFO, True),
        ("", None, True),
        ("app=podinfo", PODINFO, True),
        ("app==podinfo", PODINFO, True),
        ("app = podinfo", PODINFO, True),
        ("app=frontend", PODINFO, False),
        ("app!=frontend", PODINFO, True),
        ("app!=podinfo", PODINFO, False),
        ("missing!=x", PODINFO, True),
        ("app in (podinfo,frontend)", PODINFO, True),
        ("app in ( frontend , loadtester )", PODINFO, False),
        ("app notin (frontend)", PODINFO, True),
        ("app notin (podinfo)", PODINFO, False),
        ("missing notin (x)", PODINFO, True),
        ("missing in (x)", PODINFO, False),
        ("app", PODINFO, True),
        ("missing", PODINFO, False),
        ("!missing", PODINFO, True),
        ("!app", PODINFO, False),
        ("app=podinfo,tier=web", PODINFO, True),
        ("app=podinfo, tier=db", PODINFO, False),
        ("app=podinfo,!canary", PODINFO, True),
        ("version>1", PODINFO, True),
        ("version<2", PODINFO, False),
        ("app.kubernetes.io/name=podinfo", {"app.kubernetes.io/name": "podinfo"}, True),
        ("app=", {"app": ""}, True),
        ("app=podinfo", None, False),
        ("app in (in,notin)", {"app": "in"}, True),
    ],
)
def test_label_selector_matching(selector: str, labels: dict | None, expected: bool) -> None:
    assert parse_label_selector(selector).matches(labels) is expected


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("app in podinfo", "unable to parse requirement: found 'podinfo', expected: '('"),
        ("app podinfo", "unable to parse requirement: found 'podinfo', expected: in, notin"),
        ("app=podinfo tier=web", "found 'tier', expected: ',' or 'end of string'"),
        ("app=podinfo,", "found '', expected: identifier after ','"),
        (",app", "found ',', expected: !, identifier, or 'end of string'"),
        ("app in ()", "unable to parse requirement: for 'in', 'notin' operators, values set"),
        ("app in (a", "unable to parse requirement: found '', expected: ',', ')'"),
        ("bad key!=x", "unable to parse requirement: found 'key'"),
        ("-bad=x", "name part must consist of alphanumeric characters"),
        ("app=-x-", "a valid label must consist of alphanumeric characters"),
        ("version>a", "must be an integer"),
    ],
)
def test_label_selector_errors_name_the_bad_part(selector: str, message: str) -> None:
    with pytest.raises(SelectorError) as err:
        parse_label_selector(selector)
    assert message in str(err.value)


def test_parsed_selector_prints_in_canonical_order() -> None:
    sel = parse_label_selector("tier in (web,api), app=podinfo,!canary")
    assert str(sel) == "app=podinfo,!canary,tier in (api,web)"


@pytest.mark.parametrize(
    ("spec", "labels", "expected"),
    [
        (None, PODINFO, True),
        ({}, PODINFO, True),
        ({"matchLabels": {"app": "podinfo"}}, PODINFO, True),
        ({"matchLabels": {"app": "podinfo-primary"}}, PODINFO, False),
        (
            {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]},
            PODINFO,
            True,
        ),
        (
            {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]},
            PODINFO,
            False,
        ),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, PODINFO, True),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, PODINFO, False),
        (
            {
                "matchLabels": {"app": "podinfo"},
                "matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}],
            },
            PODINFO,
            True,
        ),
    ],
)
def test_label_selector_from_spec(spec: dict | None, labels: dict, expected: bool) -> None:
    assert label_selector_from_spec(spec).matches(labels) is expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"matchExpressions": [{"key": "a", "operator": "Equals"}]}, "'Equals' is not a valid"),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}, "can't be empty"),
        (
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
            "values set must be empty",
        ),
        ({"matchLabels": {"bad key": "x"}}, "name part must consist"),
    ],
)
def test_label_selector_from_spec_errors(spec: dict, message: str) -> None:
    with pytest.raises(SelectorError, match=message):
        label_selector_from_spec(spec)


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ({"matchLabels": {"app": "podinfo"}}, "app=podinfo"),
        ({}, ""),
        (
            {
                "matchLabels": {"z": "1", "app": "podinfo"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["web", "api"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                ],
            },
            "app=podinfo,!canary,tier in (api,web),z=1",
        ),
    ],
)
def test_selector_to_string(spec: dict, text: str) -> None:
    assert selector_to_string(spec) == text
    # The string form is itself a selector that matches the same objects.
    assert str(parse_label_selector(text)) == text


def test_label_selector_from_map_for_service_selectors() -> None:
    assert label_selector_from_map({"app": "podinfo"}).matches(PODINFO)
    assert not label_selector_from_map({"app": "podinfo-canary"}).matches(PODINFO)


EVENT = {
    "kind": "Event",
    "metadata": {"name": "podinfo.1", "namespace": "test"},
    "involvedObject": {"kind": "Canary", "name": "podinfo", "namespace": "test", "uid": "u1"},
    "reason": "Synced",
    "type": "Normal",
    "source": {"component": "flagger"},
    "reportingComponent": "flagger",
}
EVENT_V1 = {
    "apiVersion": "events.k8s.io/v1",
    "kind": "Event",
    "metadata": {"name": "podinfo.2", "namespace": "test"},
    "regarding": {"kind": "Canary", "name": "podinfo", "namespace": "test"},
    "reason": "Synced",
    "type": "Warning",
    "reportingController": "flagger",
}
POD = {
    "kind": "Pod",
    "metadata": {"name": "podinfo-abc", "namespace": "test"},
    "spec": {"nodeName": "sandbox", "restartPolicy": "Always", "serviceAccountName": "default"},
    "status": {"phase": "Running", "podIP": "127.1.0.5"},
}


@pytest.mark.parametrize(
    ("selector", "kind", "obj", "expected"),
    [
        ("", "Event", EVENT, True),
        ("metadata.name=podinfo.1", "Event", EVENT, True),
        ("metadata.name!=podinfo.1", "Event", EVENT, False),
        ("metadata.namespace==test", "ConfigMap", EVENT, True),
        ("involvedObject.kind=Canary,involvedObject.name=podinfo", "Event", EVENT, True),
        ("involvedObject.name=other", "Event", EVENT, False),
        ("involvedObject.uid=u1", "Event", EVENT, True),
        ("involvedObject.fieldPath=", "Event", EVENT, True),
        ("reason=Synced,type=Normal", "Event", EVENT, True),
        ("type!=Normal", "Event", EVENT, False),
        ("source=flagger", "Event", EVENT, True),
        ("reportingComponent=flagger", "Event", EVENT, True),
        ("involvedObject.name=podinfo,type=Warning", "Event", EVENT_V1, True),
        ("reportingComponent=flagger", "Event", EVENT_V1, True),
        ("spec.nodeName=sandbox", "Pod", POD, True),
        ("status.phase!=Running", "Pod", POD, False),
        ("status.podIP=127.1.0.5,spec.restartPolicy=Always", "Pod", POD, True),
        ("spec.serviceAccountName=default", "Pod", POD, True),
        ("type=Opaque", "Secret", {"metadata": {"name": "s"}, "type": "Opaque"}, True),
        (r"metadata.name=a\,b", "ConfigMap", {"metadata": {"name": "a,b"}}, True),
    ],
)
def test_field_selector_matching(selector: str, kind: str, obj: dict, expected: bool) -> None:
    assert parse_field_selector(selector, kind).matches(obj) is expected


@pytest.mark.parametrize(
    ("selector", "kind", "message"),
    [
        ("spec.nodeName=x", "Event", "field label not supported: spec.nodeName"),
        ("status.phase=Running", "Deployment", "field label not supported: status.phase"),
        ("reason=x", "Pod", "field label not supported: reason"),
        ("metadata.name", "Pod", "invalid selector: 'metadata.name'; can't understand"),
        (r"metadata.name=a\x", "Pod", "invalid escape sequence"),
    ],
)
def test_field_selector_errors(selector: str, kind: str, message: str) -> None:
    with pytest.raises(SelectorError) as err:
        parse_field_selector(selector, kind)
    assert message in str(err.value)
