"""Every refusal is ``{"detail": str, "code": str, ...}`` and the OpenAPI says so (api/errors.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.box_office.conftest import Server
from tests.box_office.standalone import run_box_office


@pytest.fixture(scope="module")
def box_office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from run_box_office(tmp_path_factory.mktemp("errors"))


@pytest.fixture(scope="module")
def organiser_token(box_office: Server) -> str:
    made = box_office.client().post("/api/organisers", json={"name": "Errors"})
    assert made.status_code == 201, made.text
    token: str = made.json()["token"]
    return token


def test_a_validation_error_has_a_sentence_and_every_failing_field(box_office: Server) -> None:
    answer = box_office.client().post("/api/accounts", json={"email": 5, "phone": "x"})
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "invalid"
    assert isinstance(body["detail"], str) and body["detail"].startswith("body.email")
    assert [error["loc"] for error in body["errors"]] == [["body", "email"], ["body", "phone"]]


def test_bodies_are_strict_but_a_whole_float_is_an_integer(box_office: Server, organiser_token: str) -> None:
    organiser = box_office.client(organiser_token)
    small = {"sections": 1, "rows": 1, "seats_per_row": 2, "ga_capacity": 0}
    for lax in ({"real_name": 0}, {"rows": True}, {"rows": "1"}, {"rows": 1.5}):
        refused = organiser.post("/api/demo", json=small | lax)
        assert refused.status_code == 422, (lax, refused.text)
        assert refused.json()["code"] == "invalid"
    made = organiser.post("/api/demo", json=small | {"rows": 1.0})
    assert made.status_code == 201, made.text


def test_starlette_refusals_use_the_common_body(box_office: Server) -> None:
    client = box_office.client()
    missing = client.get("/api/no-such-thing")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found", "code": "not_found"}
    unparsable = client.post(
        "/api/accounts", content=b"--x\r\n", headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert unparsable.status_code in (400, 422)
    assert set(unparsable.json()) >= {"detail", "code"}


def test_a_wrong_method_names_every_method_of_the_path(box_office: Server) -> None:
    # GET and DELETE /api/holds/{id} are two routes: Starlette alone would name only the first.
    answer = box_office.client().put("/api/holds/1")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "DELETE, GET"
    assert answer.json() == {"detail": "Method Not Allowed", "code": "method_not_allowed"}


def test_the_openapi_documents_the_error_body_for_every_error_status(box_office: Server) -> None:
    schema = box_office.client().get("/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert schema["components"]["schemas"]["ErrorBody"]["required"] == ["detail", "code"]
    documented = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status, answer in operation["responses"].items():
                if int(status) < 400:
                    continue
                documented += 1
                ref = answer["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorBody", (method, path, status)
            if "requestBody" in operation or operation.get("parameters"):
                assert "422" in operation["responses"], (method, path)
    assert documented > 150
    cancel = schema["paths"]["/api/orders/{order_id}/cancel"]["post"]["responses"]
    assert set(cancel) == {"200", "401", "403", "404", "409", "422", "503"}
