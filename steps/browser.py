"""The seed's Browser section: the frontend opened in headless Chromium."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from canary.harness.context import ScenarioContext


@when(parsers.parse('I open the frontend in namespace "{ns}" in a headless browser as '
                    '"{label}"'))
@then(parsers.parse('I open the frontend in namespace "{ns}" in a headless browser as '
                    '"{label}"'))
def browser_capture(canary_scenario: ScenarioContext, ns: str, label: str) -> None:
    from canary.harness.browser import capture_frontend

    capture_frontend(canary_scenario, ns, label)


@then(parsers.parse('the browser showed "{first}" and "{second}" in different versions and '
                    'header colours'))
def browser_differs(canary_scenario: ScenarioContext, first: str, second: str) -> None:
    from canary.harness.browser import check_colours_differ

    check_colours_differ(canary_scenario, first, second)
