"""`policywatch demo` runs the whole loop on the bundled samples, offline."""

import sqlite3


def test_demo_records_one_material_change_and_delivers_one_alert(cli, tmp_path):
    workdir = tmp_path / "demo"
    result = cli("demo", "--workdir", workdir, check=0)
    out = result.stdout
    assert "first-version" in out and "new-version" in out and "unchanged" in out
    assert "material" in out and "sale" in out
    assert "[-" in out and "{+" in out and "advertising partners" in out
    assert "delivered to json://127.0.0.1:" in out
    assert "We may share your personally identifiable information" in out

    with sqlite3.connect(workdir / "demo.db") as connection:
        changes = connection.execute("SELECT class, severity, topics, direction FROM changes").fetchall()
        deliveries = connection.execute("SELECT status FROM deliveries").fetchall()
        versions = connection.execute("SELECT count(*) FROM versions").fetchone()[0]
    assert len(changes) == 1  # the date-only edit recorded no change
    assert changes[0][0] == "material" and changes[0][1] == 3 and changes[0][3] == "expands"
    assert deliveries == [("sent",)]
    assert versions == 3
