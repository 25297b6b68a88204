// `portico import`: loads files and directories into the store, one atomic write per file.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <thread>
#include <unordered_map>

#include <unistd.h>

#include "src/app/commands.h"
#include "src/app/stores.h"
#include "src/base/strings.h"
#include "src/fhir/model/profile_checker.h"
#include "src/fhir/model/validator.h"
#include "src/fhir/rest/importer.h"
#include "src/fhir/search/registry.h"

namespace portico::app {

namespace fs = std::filesystem;

namespace {

// The whole content of `path` in one read; false when it cannot be read.
bool ReadWhole(const fs::path& path, std::string& out) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    return false;
  }
  std::streamoff size = in.tellg();
  if (size < 0) {
    return false;
  }
  out.resize(static_cast<size_t>(size));
  in.seekg(0);
  in.read(out.data(), size);
  return in.gcount() == size;
}

bool IsDataFile(const fs::path& p) {
  std::string ext = base::ToLowerAscii(p.extension().string());
  return ext == ".json" || ext == ".ndjson" || ext == ".jsonl";
}

void Progress(bool tty, int64_t resources, size_t bytes_done, size_t bytes_total,
              std::chrono::steady_clock::time_point start, bool final) {
  if (!tty) {
    return;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double rate = secs > 0 ? resources / secs : 0;
  double frac = bytes_total > 0 ? static_cast<double>(bytes_done) / bytes_total : 1;
  int width = 30;
  int filled = static_cast<int>(frac * width);
  std::string bar(filled, '#');
  bar.append(width - filled, '.');
  double eta = frac > 0 ? secs / frac - secs : 0;
  std::fprintf(stderr, "\r[%s] %3.0f%% %lld resources, %.0f/s, ETA %.0fs   ", bar.c_str(),
               frac * 100, static_cast<long long>(resources), rate, eta);
  if (final) {
    std::fprintf(stderr, "\n");
  }
}

// "LEVEL: FILE: entry N: message" (without the entry part for a whole file).
void PrintFinding(const char* level, const fhir::ImportError& e) {
  if (e.entry >= 0) {
    std::fprintf(stderr, "%s: %s: entry %lld: %s\n", level, e.source.c_str(),
                 static_cast<long long>(e.entry), e.message.c_str());
  } else {
    std::fprintf(stderr, "%s: %s: %s\n", level, e.source.c_str(), e.message.c_str());
  }
}

}  // namespace

int RunImport(const Config& config, const std::vector<std::string>& paths, bool validate,
              const std::string& profile_check) {
  if (!IsPostgresUrl(config.db)) {
    auto db_path = SqlitePath(config.db);
    if (!db_path.ok()) {
      std::fprintf(stderr, "portico import: %s\n", db_path.status().message().c_str());
      return 2;
    }
  }
  std::vector<fs::path> files;
  bool missing = false;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> found;
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::end(it);
           it.increment(ec)) {
        if (it->is_regular_file() && IsDataFile(it->path())) {
          found.push_back(it->path());
        }
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(p, ec)) {
      files.emplace_back(p);
    } else {
      std::fprintf(stderr, "portico import: %s: no such file or directory\n", p.c_str());
      missing = true;
    }
  }
  auto stores = OpenStores(config.db, base::SystemClock::Get(), StoreOptionsFrom(config));
  if (!stores.ok()) {
    std::fprintf(stderr, "portico import: %s\n", stores.status().message().c_str());
    return 1;
  }
  std::shared_ptr<const fhir::SearchParamRegistry> registry = (*stores)->registry;
  store::ResourceStore& resources = *(*stores)->resources;
  fhir::ResourceValidator validator;
  std::shared_ptr<const fhir::ElementModel> model;
  if (validate) {
    auto m = fhir::ElementModel::LoadBuiltin();
    if (!m.ok()) {
      std::fprintf(stderr, "portico import: %s\n", m.status().message().c_str());
      return 1;
    }
    model = *m;
    validator = [model](const json::Value& r) {
      std::vector<std::string> out;
      for (const fhir::ValidationIssue& i : fhir::ValidateResource(*model, r)) {
        out.push_back(i.path + ": " + i.message);
      }
      return out;
    };
  }
  fhir::Importer importer(resources, registry, validator);
  importer.set_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  // Unresolved-reference candidates: target "Type/id" -> where it is referenced (first few).
  struct Sites {
    std::vector<fhir::ReferenceSite> first;
    int64_t count = 0;
  };
  std::map<std::string, Sites> references;
  if (profile_check != "off") {
    auto profiles = fhir::ProfileRegistry::LoadBuiltin();
    if (!profiles.ok()) {
      std::fprintf(stderr, "portico import: %s\n", profiles.status().message().c_str());
      return 1;
    }
    importer.set_profile_validator(
        [profiles = *profiles](const json::Value& r) { return fhir::CheckProfiles(*profiles, r); },
        profile_check == "reject");
    importer.set_reference_observer([&references](const fhir::ReferenceSite& site) {
      Sites& s = references[site.target];
      if (s.first.size() < 3) {
        s.first.push_back(site);
      }
      ++s.count;
    });
  }
  int64_t warning_count = 0;
  // The rate printed at the end counts both passes and the index build.
  auto start = std::chrono::steady_clock::now();
  // Pass 1: find the last occurrence of every resource in this run, so that earlier ones (in
  // other files or earlier in the same file) are not stored only to be replaced.
  struct KeyHash {
    size_t operator()(const std::pair<uint64_t, uint64_t>& k) const { return k.first ^ k.second; }
  };
  std::unordered_map<std::pair<uint64_t, uint64_t>, std::pair<int32_t, int64_t>, KeyHash> last;
  auto key_of = [](const std::string& key) {
    return std::make_pair(static_cast<uint64_t>(std::hash<std::string>{}(key)),
                          static_cast<uint64_t>(std::hash<std::string>{}(key + "#portico")));
  };
  // NDJSON files of plain resources give their keys without a parse (Importer::QuickKeys). When
  // no resource occurs twice, which resource is last needs nothing more; when one does, every
  // file is parsed and checked, so that a file that will fail does not hide an earlier copy.
  auto find_last = [&](bool quick) {
    last.clear();
    bool repeated = false;
    bool used_quick = false;
    for (size_t i = 0; i < files.size(); ++i) {
      std::string content;
      (void)ReadWhole(files[i], content);  // a file that cannot be read fails in the next pass
      std::optional<std::vector<std::string>> keys;
      if (quick) {
        keys = fhir::Importer::QuickKeys(content);
        used_quick = used_quick || keys.has_value();
      }
      if (!keys.has_value()) {
        keys = importer.Keys(content);
      }
      for (size_t k = 0; k < keys->size(); ++k) {
        bool inserted =
            last.insert_or_assign(key_of((*keys)[k]),
                                  std::make_pair(static_cast<int32_t>(i), static_cast<int64_t>(k)))
                .second;
        repeated = repeated || !inserted;
      }
    }
    return repeated && used_quick;
  };
  if (find_last(true)) {
    find_last(false);
  }
  // A large load into an empty store builds the search indexes once at its end.
  constexpr int64_t kBulkLoad = 10000;
  bool bulk = false;
  if (static_cast<int64_t>(last.size()) >= kBulkLoad) {
    auto started = resources.StartBulkLoad();
    if (!started.ok()) {
      std::fprintf(stderr, "portico import: %s\n", started.status().message().c_str());
      return 1;
    }
    bulk = *started;
  }
  int32_t current_file = 0;
  importer.set_skip([&](const std::string& key, int64_t ordinal) {
    auto it = last.find(key_of(key));
    return it != last.end() && it->second != std::make_pair(current_file, ordinal);
  });
  size_t bytes_total = 0;
  for (const fs::path& f : files) {
    std::error_code ec;
    bytes_total += fs::file_size(f, ec);
  }
  bool tty = isatty(STDERR_FILENO) != 0;
  fhir::ImportCounts counts;
  size_t bytes_done = 0;
  int failed_files = 0;
  int loaded_files = 0;
  // Pass 2: the next file is read and parsed on another thread while this one is stored.
  auto parse_file = [&importer](const fs::path& f) {
    std::string content;
    if (!ReadWhole(f, content)) {
      fhir::Importer::Parsed failed;
      failed.source = f.string();
      failed.errors.push_back({f.string(), -1, "cannot read the file"});
      return std::make_pair(std::move(failed), content.size());
    }
    return std::make_pair(importer.Parse(f.string(), content), content.size());
  };
  std::future<std::pair<fhir::Importer::Parsed, size_t>> next;
  if (!files.empty()) {
    next = std::async(std::launch::async, parse_file, files[0]);
  }
  for (const fs::path& f : files) {
    current_file = static_cast<int32_t>(&f - files.data());
    auto [parsed, size] = next.get();
    if (static_cast<size_t>(current_file) + 1 < files.size()) {
      next = std::async(std::launch::async, parse_file, files[current_file + 1]);
    }
    std::vector<fhir::ImportError> errors;
    bool ok = importer.Store(parsed, counts, errors);
    bytes_done += size;
    std::vector<fhir::ImportError> warnings = importer.TakeWarnings();
    if (!warnings.empty() && tty) {
      std::fprintf(stderr, "\r%*s\r", 80, "");
    }
    for (const fhir::ImportError& w : warnings) {
      PrintFinding("warning", w);
    }
    warning_count += static_cast<int64_t>(warnings.size());
    if (!ok) {
      ++failed_files;
      if (tty) {
        std::fprintf(stderr, "\r%*s\r", 80, "");
      }
      for (const fhir::ImportError& e : errors) {
        PrintFinding("error", e);
      }
      std::fprintf(stderr, "error: %s: not loaded (nothing from this file was stored)\n",
                   f.string().c_str());
    } else {
      ++loaded_files;
      if (config.verbose) {
        std::fprintf(stdout, "loaded %s (%lld resources so far)\n", f.string().c_str(),
                     static_cast<long long>(counts.total()));
        std::fflush(stdout);
      }
    }
    Progress(tty, counts.total(), bytes_done, bytes_total, start, false);
  }
  if (bulk) {
    if (Status s = resources.FinishBulkLoad(); !s.ok()) {
      std::fprintf(stderr,
                   "portico import: building the search indexes failed (the next start builds "
                   "them): %s\n",
                   s.message().c_str());
      return 1;
    }
  }
  Progress(tty, counts.total(), bytes_done, bytes_total, start, true);
  // A bulk load refreshes the planner's statistics at once; smaller feeds leave it to the
  // database's own background analysis (a full ANALYZE of a large database takes a while).
  if (counts.created + counts.updated + counts.deleted >= kBulkLoad) {
    if (Status s = resources.UpdateStatistics(); !s.ok()) {
      std::fprintf(stderr, "warning: updating the planner statistics failed: %s\n",
                   s.message().c_str());
    }
  }
  // References of the stored resources must resolve within the store (this run included).
  int64_t unresolved = 0;
  for (const auto& [target, sites] : references) {
    size_t slash = target.find('/');
    auto found = resources.Read(target.substr(0, slash), target.substr(slash + 1));
    if (found.ok() && found->has_value() && !(*found)->deleted) {
      continue;
    }
    ++unresolved;
    for (const fhir::ReferenceSite& site : sites.first) {
      PrintFinding("warning", {site.source, site.entry,
                               site.path + ": reference " + target +
                                   " does not resolve (not in the store nor in this import)"});
    }
    if (sites.count > static_cast<int64_t>(sites.first.size())) {
      std::fprintf(stderr, "warning: %lld more references to %s do not resolve\n",
                   static_cast<long long>(sites.count - sites.first.size()), target.c_str());
    }
    warning_count += sites.count;
  }
  if (warning_count > 0) {
    std::fprintf(stderr, "%lld warnings (%lld unresolved reference targets)\n",
                 static_cast<long long>(warning_count), static_cast<long long>(unresolved));
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stdout,
               "imported %d of %zu files: %lld created, %lld updated, %lld unchanged, %lld "
               "deleted, %lld superseded (%lld resources in %.2f s, %.0f resources/s); %d files "
               "failed\n",
               loaded_files, files.size(), static_cast<long long>(counts.created),
               static_cast<long long>(counts.updated), static_cast<long long>(counts.unchanged),
               static_cast<long long>(counts.deleted), static_cast<long long>(counts.superseded),
               static_cast<long long>(counts.total()), secs, secs > 0 ? counts.total() / secs : 0.0,
               failed_files);
  return failed_files > 0 || missing ? 1 : 0;
}

}  // namespace portico::app
