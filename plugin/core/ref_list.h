// The refs of a wave listed for checking in pages, in the serving sequence:
// their characters in one buffer, and a table to tell whether a ref is one
// of them. 8 to 16 bytes of table per ref beyond its characters and its
// end, where a vector of strings and a hash set of views took about 70.
#ifndef RFTGATE_PLUGIN_CORE_REF_LIST_H_
#define RFTGATE_PLUGIN_CORE_REF_LIST_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rftgate {

class RefList {
 public:
  // Adds `ref` at the end. Views returned earlier stay valid only once
  // every ref is added (the buffer grows).
  void Add(std::string_view ref);
  // Builds the table Contains reads; call once every ref is added, before
  // the list is shared between threads.
  void Seal();
  // Space for `refs` refs of `chars` characters in all.
  void Reserve(size_t refs, size_t chars);

  size_t size() const { return ends_.size(); }
  bool empty() const { return ends_.empty(); }
  std::string_view operator[](size_t i) const {
    const size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(chars_).substr(begin, ends_[i] - begin);
  }

  // Whether `ref` is one of the refs added before Seal().
  bool Contains(std::string_view ref) const;

  // Bytes held, for the log and the tests.
  size_t memory_bytes() const {
    return chars_.capacity() + ends_.capacity() * sizeof(size_t) +
           table_.capacity() * sizeof(uint32_t);
  }

 private:
  std::string chars_;
  std::vector<size_t> ends_;
  // Open addressing, at most half full: (position + 1) of a ref, 0 = empty.
  std::vector<uint32_t> table_;
};

}  // namespace rftgate

#endif  // RFTGATE_PLUGIN_CORE_REF_LIST_H_
