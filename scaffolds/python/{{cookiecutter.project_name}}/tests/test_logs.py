from __future__ import annotations

import io
import json
import logging

from {{ cookiecutter.__package_name }} import logs


def test_records_are_json_lines_with_extra_fields() -> None:
    stream = io.StringIO()
    logs.configure("debug", stream)
    try:
        logging.getLogger("demo").info("hello %s", "there", extra={"answer": 42})
        logging.getLogger("uvicorn.error").warning("from uvicorn")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("demo").exception("failed")
    finally:
        logging.getLogger().handlers.clear()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["msg"] for line in lines] == ["hello there", "from uvicorn", "failed"]
    assert lines[0]["level"] == "info" and lines[0]["answer"] == 42
    assert lines[0]["logger"] == "demo" and lines[0]["time"].endswith("+00:00")
    assert lines[1]["level"] == "warning"
    assert "RuntimeError: boom" in lines[2]["exception"]
