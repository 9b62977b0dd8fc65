// Checks on flag values, run by CLI11 as it parses (before any work), and the parse itself: a bad
// flag is one line, "train: --batch: expected a positive integer, found 0", and exit code 2.
#pragma once

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

namespace minidl::examples::flags {

namespace detail {

inline bool parse_double(const std::string& text, double& v) {
  try {
    size_t used = 0;
    v = std::stod(text, &used);
    return used == text.size();
  } catch (const std::exception&) {
    return false;
  }
}

/// A validator from `ok(value)`; `expected` completes "expected ...".
template <typename Ok>
CLI::Validator number(const std::string& expected, Ok ok) {
  return CLI::Validator(
      [expected, ok](std::string& text) -> std::string {
        double v = 0;
        if (!parse_double(text, v) || !ok(v)) return "expected " + expected + ", found " + text;
        return "";
      },
      "", expected);
}

}  // namespace detail

/// > 0 (sizes, counts, steps).
inline const CLI::Validator positive = detail::number("a positive number", [](double v) { return v > 0; });
/// ≥ 0 (0 usually meaning "none" or "all", as the flag's help says).
inline const CLI::Validator non_negative = detail::number("a number >= 0", [](double v) { return v >= 0; });
/// A finite number > 0 (learning rates).
inline const CLI::Validator positive_finite =
    detail::number("a finite number > 0", [](double v) { return std::isfinite(v) && v > 0; });
/// A finite number ≥ 0 (weight decay, momentum, smoothing).
inline const CLI::Validator non_negative_finite =
    detail::number("a finite number >= 0", [](double v) { return std::isfinite(v) && v >= 0; });
/// In [0, 1).
inline const CLI::Validator fraction =
    detail::number("a number in [0, 1)", [](double v) { return std::isfinite(v) && v >= 0 && v < 1; });

/// One of `choices`.
inline CLI::Validator one_of(std::vector<std::string> choices) {
  std::string list;
  for (const std::string& c : choices) list += (list.empty() ? "" : ", ") + c;
  return CLI::Validator(
      [choices, list](std::string& text) -> std::string {
        for (const std::string& c : choices)
          if (text == c) return "";
        return "expected one of " + list + ", found " + text;
      },
      "", "");
}

/// The items of a comma-separated list: "bn,gn" → {"bn", "gn"}.
inline std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream s(text);
  std::string item;
  while (std::getline(s, item, ',')) items.push_back(item);
  if (!text.empty() && text.back() == ',') items.push_back("");  // "bn," has an empty last item
  return items;
}

/// A comma-separated list of one or more of `choices`.
inline CLI::Validator list_of(std::vector<std::string> choices) {
  std::string list;
  for (const std::string& c : choices) list += (list.empty() ? "" : ", ") + c;
  return CLI::Validator(
      [choices, list](std::string& text) -> std::string {
        const std::vector<std::string> items = split(text);
        bool ok = !items.empty();
        for (const std::string& item : items) ok = ok && std::find(choices.begin(), choices.end(), item) != choices.end();
        return ok ? "" : "expected a comma-separated list of " + list + ", found " + text;
      },
      "", "");
}

/// A file that exists.
inline const CLI::Validator existing_file = CLI::Validator(
    [](std::string& path) -> std::string {
      std::error_code ec;
      if (std::filesystem::is_regular_file(path, ec)) return "";
      return std::filesystem::exists(path, ec) ? "expected a file, found the directory " + path : "no such file: " + path;
    },
    "", "FILE");

/// A path whose directory exists (an output written later: it must not fail after an epoch).
inline const CLI::Validator writable_path = CLI::Validator(
    [](std::string& path) -> std::string {
      const std::filesystem::path dir = std::filesystem::path(path).parent_path();
      std::error_code ec;
      if (path.empty() || path.back() == '/') return "expected a file name, found " + path;
      if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) return "the directory " + dir.string() + " does not exist";
      return "";
    },
    "", "PATH");

/// app.add_option(name, value, help) showing its default and checked by `check`.
template <typename T>
CLI::Option* add(CLI::App& app, const std::string& name, T& value, const std::string& help, const CLI::Validator& check) {
  return app.add_option(name, value, help)->capture_default_str()->check(check);
}

/// Parses argv; `--help` prints the help and exits 0, anything wrong with the flags prints one
/// line naming the program and the flag and exits 2. Returns -1 when the program should go on.
inline int parse(CLI::App& app, int argc, char** argv, const char* program) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s (see %s --help)\n", program, e.what(), program);
    return 2;
  }
  return -1;
}

}  // namespace minidl::examples::flags

/// In main(): MINIDL_PARSE_FLAGS(app, argc, argv, "train"); returns from main on --help or a bad flag.
#define MINIDL_PARSE_FLAGS(app, argc, argv, program)                                          \
  do {                                                                                        \
    const int minidl_parse_status = ::minidl::examples::flags::parse(app, argc, argv, program); \
    if (minidl_parse_status >= 0) return minidl_parse_status;                                 \
  } while (0)
