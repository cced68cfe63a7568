"""pgJDBC (/usr/share/java/postgresql.jar) in the extended and the simple query mode
(`preferQueryMode=simple`): update counts of utility statements, generated keys, batches, a
rolled-back block, result names, SQLSTATEs, and DatabaseMetaData's imported/exported keys
and index info. Run against PostgreSQL 15 too with ELACSYM_CLIENT_TESTS_PG=1."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.server import clients

target = clients.target

JDBC_JAR = "/usr/share/java/postgresql.jar"

pytestmark = pytest.mark.skipif(
    shutil.which("java") is None or not os.path.exists(JDBC_JAR),
    reason="needs java and the PostgreSQL JDBC driver (apt: libpostgresql-jdbc-java)",
)

# Prints one line per observation; table names start with args[1] so both modes can share a
# server.
JAVA = """
import java.math.BigDecimal;
import java.sql.*;

public class Clients {
  public static void main(String[] args) throws Exception {
    String t = args[1];
    try (Connection c = DriverManager.getConnection(args[0]);
         Statement s = c.createStatement()) {
      System.out.println("drop-if-exists " + s.executeUpdate("DROP TABLE IF EXISTS " + t + "_x"));
      s.execute("CREATE TABLE " + t + "_items (id SERIAL PRIMARY KEY, name TEXT NOT NULL, "
          + "price NUMERIC(8, 2))");
      try (PreparedStatement p = c.prepareStatement("INSERT INTO " + t + "_items (name, price) "
          + "VALUES (?, ?)", Statement.RETURN_GENERATED_KEYS)) {
        for (String name : new String[] {"a", "b"}) {
          p.setString(1, name);
          p.setBigDecimal(2, new BigDecimal("1.50"));
          System.out.println("inserted " + p.executeUpdate());
          try (ResultSet k = p.getGeneratedKeys()) {
            k.next();
            System.out.println("key " + k.getInt("id"));
          }
        }
      }
      c.setAutoCommit(false);
      s.executeUpdate("INSERT INTO " + t + "_items (name) VALUES ('rolled back')");
      c.rollback();
      c.setAutoCommit(true);
      try (PreparedStatement p = c.prepareStatement("INSERT INTO " + t + "_items (name) "
          + "VALUES (?)")) {
        for (int i = 0; i < 3; i++) {
          p.setString(1, "batch " + i);
          p.addBatch();
        }
        System.out.println("batch " + p.executeBatch().length);
      }
      try (ResultSet r = s.executeQuery("SELECT count(*), sum(price), 7 / 2, current_user "
          + "FROM " + t + "_items")) {
        r.next();
        System.out.println("count " + r.getLong("count") + " sum " + r.getBigDecimal("sum")
            + " div " + r.getInt(3) + " user " + r.getString("current_user"));
      }
      try {
        s.executeUpdate("INSERT INTO " + t + "_items (name) VALUES (NULL)");
      } catch (SQLException e) {
        System.out.println("error " + e.getSQLState());
      }
      s.execute("CREATE TABLE " + t + "_orders (id INTEGER PRIMARY KEY, "
          + "item_id INTEGER REFERENCES " + t + "_items (id))");
      System.out.println("create-index " + s.executeUpdate("CREATE INDEX " + t
          + "_orders_item ON " + t + "_orders (item_id)"));
      DatabaseMetaData m = c.getMetaData();
      try (ResultSet r = m.getImportedKeys(null, "public", t + "_orders")) {
        while (r.next()) {
          System.out.println("imported " + r.getString("FKCOLUMN_NAME") + " -> "
              + r.getString("PKTABLE_NAME") + "." + r.getString("PKCOLUMN_NAME"));
        }
      }
      try (ResultSet r = m.getExportedKeys(null, "public", t + "_items")) {
        while (r.next()) {
          System.out.println("exported " + r.getString("FKTABLE_NAME") + "."
              + r.getString("FKCOLUMN_NAME"));
        }
      }
      try (ResultSet r = m.getIndexInfo(null, "public", t + "_orders", false, false)) {
        while (r.next()) {
          System.out.println("index " + r.getString("INDEX_NAME") + " "
              + r.getString("COLUMN_NAME") + " unique " + !r.getBoolean("NON_UNIQUE"));
        }
      }
      System.out.println("drop " + s.executeUpdate("DROP TABLE " + t + "_orders"));
    }
  }
}
"""


@pytest.mark.parametrize("mode", ["extended", "simple"])
def test_jdbc_statements_and_metadata(target, tmp_path, mode):
    source = tmp_path / "Clients.java"
    source.write_text(JAVA)
    url = (f"jdbc:postgresql://{target.host}:{target.port}/{target.dbname}?user={target.user}"
           f"&password={target.password}&sslmode=disable&preferQueryMode={mode}")  # fmt: skip
    out = subprocess.run(["java", "-cp", JDBC_JAR, str(source), url, f"jd_{mode}"],
                         capture_output=True, text=True, timeout=180)  # fmt: skip
    assert out.returncode == 0, out.stderr
    t = f"jd_{mode}"
    assert out.stdout.splitlines() == [
        "drop-if-exists 0",
        "inserted 1",
        "key 1",
        "inserted 1",
        "key 2",
        "batch 3",
        f"count 5 sum 3.00 div 3 user {target.user}",
        "error 23502",
        "create-index 0",
        f"imported item_id -> {t}_items.id",
        f"exported {t}_orders.item_id",
        f"index {t}_orders_pkey id unique true",
        f"index {t}_orders_item item_id unique false",
        "drop 0",
    ]
