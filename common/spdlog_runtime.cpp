// The compiled parts of spdlog and fmt, built into our own code so no binary loads
// libspdlog.so or libfmt.so (Debian ships neither as a static archive). Every other file uses
// the headers in their compiled-library mode (the definitions are set in common/CMakeLists.txt):
// the implementation is compiled here once, where header-only mode would compile it again in
// every file that logs. Only what the project uses is instantiated: spdlog's registry,
// loggers, pattern formatter, base_sink over std::mutex (common/logging.cpp's ring sink) and
// the ANSI colour console sinks (ours on stderr; the registry's default logger on stdout);
// fmt's char formatting. A missing piece shows as an undefined symbol at link time.
#if !defined(SPDLOG_COMPILED_LIB) || !defined(SPDLOG_FMT_EXTERNAL) || defined(FMT_HEADER_ONLY)
#error "spdlog_runtime.cpp needs spdlog's compiled mode over an external fmt"
#endif

#include <fmt/format-inl.h>

#include <locale>
#include <mutex>

FMT_BEGIN_NAMESPACE
namespace detail {
template auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;
template locale_ref::locale_ref(const std::locale& loc);
template auto locale_ref::get<std::locale>() const -> std::locale;
template auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template auto decimal_point_impl(locale_ref) -> char;
}  // namespace detail
FMT_END_NAMESPACE

#include <spdlog/common-inl.h>
#include <spdlog/details/backtracer-inl.h>
#include <spdlog/details/log_msg-inl.h>
#include <spdlog/details/log_msg_buffer-inl.h>
#include <spdlog/details/os-inl.h>
#include <spdlog/details/periodic_worker-inl.h>
#include <spdlog/details/registry-inl.h>
#include <spdlog/logger-inl.h>
#include <spdlog/pattern_formatter-inl.h>
#include <spdlog/sinks/ansicolor_sink-inl.h>
#include <spdlog/sinks/base_sink-inl.h>
#include <spdlog/sinks/sink-inl.h>
#include <spdlog/spdlog-inl.h>

template class spdlog::sinks::base_sink<std::mutex>;
template class spdlog::sinks::ansicolor_sink<spdlog::details::console_mutex>;
template class spdlog::sinks::ansicolor_stdout_sink<spdlog::details::console_mutex>;
template class spdlog::sinks::ansicolor_stderr_sink<spdlog::details::console_mutex>;
