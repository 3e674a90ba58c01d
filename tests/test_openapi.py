"""GET /api/openapi.json: a valid OpenAPI 3.1 document of exactly the API
the app serves, with the same fields the code accepts."""

import re

import pytest
from openapi_spec_validator import validate

from conversions import costs
from shortener import links
from shortener.apispec import operations_of
from shortener.openapi import DOC_PATH, _template


def api_operations(app) -> set[tuple[str, str]]:
    return {
        (_template(rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.rule != DOC_PATH
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_the_document_is_public_valid_openapi(client):
    response = client.get(DOC_PATH)  # no API key: it describes, it grants nothing
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    doc = response.get_json()
    validate(doc)  # raises on anything OpenAPI 3.1 does not allow
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"bearer": []}]


def test_every_api_route_is_described_and_nothing_else(app, client):
    doc = client.get(DOC_PATH).get_json()
    described = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert described == api_operations(app)
    assert described <= set(operations_of(app))  # each declared, none left to a bare default
    assert ("/api/links", "post") in described and ("/api/reports/channels", "get") in described


def test_described_bodies_match_the_fields_the_code_accepts(client):
    paths = client.get(DOC_PATH).get_json()["paths"]

    def properties(path, method):
        schema = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert schema["additionalProperties"] is False  # unknown fields are refused
        return set(schema["properties"]), set(schema.get("required", []))

    assert properties("/api/links", "post") == (
        links.CREATE_FIELDS,
        {"url", "channel", "campaign"},
    )
    assert properties("/api/links/{code}", "patch")[0] == links.PATCH_FIELDS
    assert properties("/api/costs", "post") == (set(costs.FIELDS), set(costs.REQUIRED))
    assert properties("/api/costs/{cost_id}", "patch") == (set(costs.FIELDS), set())


def test_path_variables_are_typed(client):
    paths = client.get(DOC_PATH).get_json()["paths"]
    [cost_id] = paths["/api/costs/{cost_id}"]["delete"]["parameters"]
    integer = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}  # what SQLite can hold
    assert cost_id == {"name": "cost_id", "in": "path", "required": True, "schema": integer}
    [code] = paths["/api/links/{code}"]["get"]["parameters"]
    assert code["schema"]["type"] == "string" and code["required"] is True


def test_what_the_document_forbids_is_refused_naming_the_field(client):
    """The views check input against the same declarations the document is
    made from: an empty day and a tag over its maximum length are refused."""
    from conftest import AUTH

    empty_day = client.get("/api/reports/channels?to=", headers=AUTH)
    assert empty_day.status_code == 400 and empty_day.get_json()["field"] == "to"
    long_tag = client.get("/api/links?tag=" + "t" * 51, headers=AUTH)
    assert long_tag.status_code == 400 and long_tag.get_json()["field"] == "tag"
    assert client.get("/api/links?tag=" + "t" * 50, headers=AUTH).status_code == 200
    kind = client.post("/api/costs", json={"kind": "coffee"}, headers=AUTH)
    assert kind.status_code == 400 and kind.get_json()["field"] in ("kind", "from")


def test_every_answer_the_api_gives_is_documented(client):
    paths = client.get(DOC_PATH).get_json()["paths"]
    assert {"201", "400", "401", "404", "405", "409", "503"} <= set(
        paths["/api/links"]["post"]["responses"]
    )
    assert "text/csv" in paths["/api/reports/channels"]["get"]["responses"]["200"]["content"]


def test_each_part_declares_the_operations_of_its_own_views(app):
    """The declaration of an operation sits in the part whose view serves it,
    and the app's registered set is exactly the parts' declarations."""
    import advocates.apispec
    import conversions.apispec
    import shortener.apispec

    declarations = {
        "shortener": shortener.apispec.OPERATIONS,
        "conversions": conversions.apispec.OPERATIONS,
        "advocates": advocates.apispec.OPERATIONS,
    }
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule == DOC_PATH:
            continue
        part = app.view_functions[rule.endpoint].__module__.split(".")[0]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (_template(rule), method.lower()) in declarations[part], rule.rule
    everything = {k: v for operations in declarations.values() for k, v in operations.items()}
    assert operations_of(app) == everything


def test_an_operation_declared_twice_is_refused(app):
    from shortener.apispec import register

    with pytest.raises(ValueError, match="/api/links"):
        register(app, {("/api/links", "get"): {"summary": "again"}})


def test_the_facts_in_the_declarations_are_the_owning_parts_own(client):
    """Cost kinds, currencies and goal names in the document come from
    conversions; the e-mail form from advocates."""
    from conversions.money import EXPONENTS

    paths = client.get(DOC_PATH).get_json()["paths"]
    cost = paths["/api/costs"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert cost["properties"]["kind"]["enum"] == list(costs.KINDS)
    currency = re.compile(cost["properties"]["currency"]["pattern"])
    assert all(currency.match(code) and currency.match(code.lower()) for code in EXPONENTS)
    assert not currency.match("XXY")
    [goal] = paths["/api/goals/{name}"]["put"]["parameters"]
    assert re.match(goal["schema"]["pattern"], "newsletter_signup")
    assert not re.match(goal["schema"]["pattern"], "Newsletter")
    advocate = paths["/api/advocates"]["post"]["requestBody"]["content"]["application/json"]
    email = re.compile(advocate["schema"]["properties"]["email"]["pattern"])
    assert email.match("ada@example.com") and not email.match("ada@example")
