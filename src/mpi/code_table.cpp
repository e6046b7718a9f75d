// Naming code across ranks: module build-ids and offsets from their load addresses, so that a
// function means the same thing on every rank despite address-space layout randomization.
#include <elf.h>
#include <link.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "internal.hpp"

namespace concur::mpi::detail {

namespace {

// The NT_GNU_BUILD_ID note of one loaded module, or "" if it has none.
std::string build_id_of(const dl_phdr_info& info) {
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info.dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const auto* p = reinterpret_cast<const char*>(info.dlpi_addr + ph.p_vaddr);
    const char* end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      ElfW(Nhdr) n{};
      std::memcpy(&n, p, sizeof n);
      const char* name = p + sizeof n;
      const char* desc = name + ((n.n_namesz + 3) & ~3U);
      const char* next = desc + ((n.n_descsz + 3) & ~3U);
      if (next > end) break;
      if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0)
        return {desc, n.n_descsz};
      p = next;
    }
  }
  return {};
}

std::uint64_t id_word(const std::string& build_id) {
  std::uint64_t w = 0;
  std::memcpy(&w, build_id.data(), std::min(build_id.size(), sizeof w));
  return w;
}

std::string hex(std::uint64_t w) {
  std::ostringstream os;
  os << std::hex << w;
  return os.str();
}

}  // namespace

std::string executable_build_id() {
  std::string id;
  // The first module dl_iterate_phdr reports is the executable.
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* out) {
        *static_cast<std::string*>(out) = build_id_of(*info);
        return 1;
      },
      &id);
  return id;
}

void code_table::load() {
  modules_.clear();
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* self) {
        module m;
        m.path = info->dlpi_name != nullptr && info->dlpi_name[0] != '\0' ? info->dlpi_name
                                                                          : "the executable";
        m.bias = info->dlpi_addr;
        const std::string id = build_id_of(*info);
        m.id = id.empty() ? 0 : id_word(id);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type == PT_LOAD)
            m.ranges.emplace_back(info->dlpi_addr + ph.p_vaddr,
                                  info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
        }
        static_cast<code_table*>(self)->modules_.push_back(std::move(m));
        return 0;
      },
      this);
  loaded_ = true;
}

code_ref code_table::name(std::uintptr_t address) {
  if (address == 0) return {};
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!loaded_ || attempt == 1) load();
    for (const module& m : modules_) {
      const bool inside = std::any_of(m.ranges.begin(), m.ranges.end(), [&](const auto& r) {
        return address >= r.first && address < r.second;
      });
      if (!inside) continue;
      if (m.id == 0)
        throw error("concur::mpi: the function lives in " + m.path +
                    ", which has no ELF build-id, so other ranks cannot be sure to find it "
                    "(link it with -Wl,--build-id)");
      return {m.id, address - m.bias};
    }
  }
  throw error("concur::mpi: the function is in no loaded module (a JIT or a stack address?)");
}

std::uintptr_t code_table::address(code_ref ref) {
  if (ref.module == 0 && ref.offset == 0) return 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!loaded_ || attempt == 1) load();
    for (const module& m : modules_)
      if (m.id == ref.module) return m.bias + ref.offset;
  }
  throw error("concur::mpi: this rank has no module with build-id " + hex(ref.module) +
              " loaded: every rank must run the same executable with the same libraries");
}

std::vector<int> ranks_with_other_executable(MPI_Comm comm) {
  constexpr std::size_t width = 64;  // a length byte, then up to 63 bytes of build-id
  std::string mine(width, '\0');
  const std::string id = executable_build_id();
  mine[0] = static_cast<char>(std::min(id.size(), width - 1));
  std::memcpy(mine.data() + 1, id.data(), std::min(id.size(), width - 1));
  int size = 0;
  check_mpi(MPI_Comm_size(comm, &size), "MPI_Comm_size");
  std::string all(width * static_cast<std::size_t>(size), '\0');
  check_mpi(MPI_Allgather(mine.data(), static_cast<int>(width), MPI_BYTE, all.data(),
                          static_cast<int>(width), MPI_BYTE, comm),
            "MPI_Allgather");
  std::vector<int> other;
  const std::string_view first(all.data(), width);
  for (int r = 0; r < size; ++r) {
    const std::string_view theirs(all.data() + width * static_cast<std::size_t>(r), width);
    if (theirs != first || theirs[0] == '\0') other.push_back(r);
  }
  return other;
}

std::string other_executable_message(const std::vector<int>& ranks) {
  std::string list;
  for (int r : ranks) list += (list.empty() ? "" : ", ") + std::to_string(r);
  return "concur::mpi: rank" + std::string(ranks.size() > 1 ? "s " : " ") + list + " run" +
         (ranks.size() > 1 ? "" : "s") +
         " a different executable than rank 0 (or one without an ELF build-id): functions are "
         "named by their offset in the executable, so every rank must run the same build of "
         "the same program";
}

}  // namespace concur::mpi::detail
