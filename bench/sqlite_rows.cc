// What one search-index row costs SQLite itself, without Portico around it: the floor under the
// importer's writer (docs/performance.md, "Import and database size").
//
// Inserts 234,000 rows shaped like Portico's idx_token rows (20 per resource for 11,700
// resources, as a 1,000-member import writes) into a fresh WAL database in one transaction with
// a prepared statement, three ways:
//   - the clustered table alone (PRIMARY KEY (res, n) WITHOUT ROWID, rows in key order);
//   - with the search index (type, param, code, system, res) maintained on every insert;
//   - with that index built by CREATE INDEX after the rows are in.
//
//   g++ -std=c++20 -O2 bench/sqlite_rows.cc -lsqlite3 -o /tmp/sqlite_rows && /tmp/sqlite_rows DIR
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <sqlite3.h>

namespace {

constexpr int kResources = 11700;
constexpr int kRowsPerResource = 20;

bool Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::fprintf(stderr, "%s: %s\n", sql, err != nullptr ? err : "error");
    sqlite3_free(err);
    return false;
  }
  return true;
}

// Returns seconds, or a negative number on error.
double Run(const std::string& path, bool index_during, bool index_after) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::remove((path + suffix).c_str());
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    return -1;
  }
  const char* index_sql =
      "CREATE INDEX idx_token_code ON idx_token (type, param, code, system, res)";
  bool ok = Exec(db, "PRAGMA journal_mode=WAL") && Exec(db, "PRAGMA synchronous=FULL") &&
            Exec(db, "PRAGMA cache_size=-65536") &&
            Exec(db,
                 "CREATE TABLE idx_token (res INTEGER NOT NULL, n INTEGER NOT NULL, type TEXT NOT "
                 "NULL, param TEXT NOT NULL, system TEXT NOT NULL, code TEXT NOT NULL, text TEXT "
                 "NOT NULL, PRIMARY KEY (res, n)) WITHOUT ROWID") &&
            (!index_during || Exec(db, index_sql));
  sqlite3_stmt* st = nullptr;
  ok = ok && sqlite3_prepare_v2(db,
                                "INSERT INTO idx_token (res, n, type, param, system, code, text) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                                -1, &st, nullptr) == SQLITE_OK;
  std::mt19937 rng(1);
  std::vector<std::string> codes;
  for (int i = 0; i < 5000; ++i) {
    codes.push_back("code-" + std::to_string(rng()));
  }
  const char* params[] = {"identifier", "status", "type", "category",
                          "code",       "_tag",   "use",  "outcome"};
  auto start = std::chrono::steady_clock::now();
  ok = ok && Exec(db, "BEGIN");
  for (int res = 1; ok && res <= kResources; ++res) {
    for (int n = 0; ok && n < kRowsPerResource; ++n) {
      const std::string& code = codes[rng() % codes.size()];
      sqlite3_reset(st);
      sqlite3_bind_int64(st, 1, res);
      sqlite3_bind_int64(st, 2, n);
      sqlite3_bind_text(st, 3, "ExplanationOfBenefit", -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 4, params[n % 8], -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 5, "http://terminology.hl7.org/CodeSystem/claim-type", -1,
                        SQLITE_STATIC);
      sqlite3_bind_text(st, 6, code.data(), static_cast<int>(code.size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 7, "", 0, SQLITE_STATIC);
      ok = sqlite3_step(st) == SQLITE_DONE;
    }
  }
  ok = ok && (!index_after || Exec(db, index_sql)) && Exec(db, "COMMIT");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sqlite3_finalize(st);
  sqlite3_close(db);
  return ok ? seconds : -1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = std::string(argc > 1 ? argv[1] : "/tmp") + "/sqlite_rows.db";
  const int rows = kResources * kRowsPerResource;
  std::printf("| %d idx_token rows, one transaction | seconds | µs per row |\n|---|---|---|\n",
              rows);
  struct Case {
    const char* name;
    bool during;
    bool after;
  };
  for (const Case& c : {Case{"clustered table only", false, false},
                        Case{"search index maintained on insert", true, false},
                        Case{"search index built after the load", false, true}}) {
    double s = Run(path, c.during, c.after);
    if (s < 0) {
      return 1;
    }
    std::printf("| %s | %.3f | %.2f |\n", c.name, s, s / rows * 1e6);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::remove((path + suffix).c_str());
  }
  return 0;
}
