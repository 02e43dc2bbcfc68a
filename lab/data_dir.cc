#include "lab/data_dir.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace mpic::lab {

namespace fs = std::filesystem;

std::string DataDirFor(std::string_view exe, const char* env) {
  if (env != nullptr && *env != '\0') return fs::path(env).lexically_normal().string();
  fs::path dir = fs::path(exe).parent_path();
  return (dir / ".." / "share" / "mpic").lexically_normal().string();
}

std::string DataDir() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return DataDirFor(ec ? std::string("./mpic") : self.string(), std::getenv("MPIC_DATA_DIR"));
}

std::string ExecutableDir() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : self.parent_path().string();
}

Result<std::string> DataFile(std::string_view relative) {
  std::string path = (fs::path(DataDir()) / relative).string();
  if (access(path.c_str(), R_OK) != 0) {
    return Fail(ProblemType::kServerInternal,
                "data file " + path +
                    " not found (mpic's data files belong in ../share/mpic beside the binary's "
                    "directory, or set MPIC_DATA_DIR)");
  }
  return path;
}

}  // namespace mpic::lab
