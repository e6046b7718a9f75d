#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

#include "concur/mp.hpp"

namespace mp = concur::mp;

namespace {

struct point {
  double x = 0;
  double y = 0;
  std::string label;
  bool operator==(const point&) const = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(x, y, label);
  }
};

struct order {
  int id = 0;
  std::vector<point> path;
  std::map<std::string, std::optional<int>> tags;
  bool operator==(const order&) const = default;
};

template <class Archive>
void serialize(Archive& ar, order& o) {
  ar(o.id, o.path, o.tags);
}

struct not_serializable {
  int x = 0;
};

order make_order() {
  return order{7, {{1.5, 2.5, "a"}, {-3, 4, "b"}}, {{"k", 1}, {"none", std::nullopt}}};
}

order echo_order(order o) {
  o.id += 1;
  return o;
}

}  // namespace

static_assert(mp::sendable<int>);
static_assert(mp::sendable<std::string>);
static_assert(mp::sendable<std::map<std::string, std::vector<std::tuple<int, double>>>>);
static_assert(mp::sendable<point>);
static_assert(mp::sendable<order>);
static_assert(!mp::sendable<not_serializable>);
static_assert(!mp::sendable<int*>);
static_assert(!mp::sendable<const char*>);
// Stateful closures cannot be named in another process; captureless lambdas can.
static_assert(mp::detail::is_nameable_v<decltype([](int x) { return x; })>);
static_assert(!mp::detail::is_nameable_v<decltype([y = 1](int x) { return x + y; })>);
static_assert(mp::detail::is_nameable_v<int (*)(int)>);

TEST(MpCodec, NestedStdTypesRoundTrip) {
  using nested = std::map<std::string, std::vector<std::tuple<int, double, std::string>>>;
  const nested v{{"a", {{1, 2.5, "x"}, {2, -1.0, ""}}}, {"b", {}}};
  EXPECT_EQ(mp::loads<nested>(mp::dumps(v)), v);
  const std::unordered_map<int, std::set<std::string>> u{{1, {"p", "q"}}, {2, {}}};
  EXPECT_EQ((mp::loads<std::unordered_map<int, std::set<std::string>>>(mp::dumps(u))), u);
  const std::variant<int, std::string> var = std::string("text");
  EXPECT_EQ((mp::loads<std::variant<int, std::string>>(mp::dumps(var))), var);
  const std::pair<std::optional<int>, std::vector<bool>> pr{std::nullopt, {true, false, true}};
  EXPECT_EQ((mp::loads<std::pair<std::optional<int>, std::vector<bool>>>(mp::dumps(pr))), pr);
}

TEST(MpCodec, UserTypesRoundTrip) {
  EXPECT_EQ(mp::loads<order>(mp::dumps(make_order())), make_order());
}

TEST(MpCodec, UserTypesCrossTheProcessBoundary) {
  mp::pool p(1);
  order expected = make_order();
  expected.id = 8;
  EXPECT_EQ(p.apply(echo_order, make_order()), expected);
}

TEST(MpCodec, TruncatedBytesAreAnErrorNotACrash) {
  const std::string bytes = mp::dumps(make_order());
  EXPECT_THROW(mp::loads<order>(std::string_view(bytes).substr(0, bytes.size() / 2)), mp::error);
  EXPECT_THROW(mp::loads<std::string>(""), mp::error);
}

TEST(MpCodec, RawChunksRoundTripAndRejectBadLengths) {
  namespace d = mp::detail;
  d::fd_table none;
  std::string bytes;
  d::encode_chunk(bytes, none, std::vector<int>{1, -2, 3});
  std::vector<int> ints{9};
  d::decode_chunk_append(bytes, none, ints);
  EXPECT_EQ(ints, (std::vector<int>{9, 1, -2, 3}));
  // The raw layout is cereal's own for a vector of arithmetic values.
  EXPECT_EQ(mp::loads<std::vector<int>>(bytes), (std::vector<int>{1, -2, 3}));

  std::string flags;
  d::encode_chunk(flags, none, std::vector<bool>{true, false, true});
  std::vector<bool> decoded;
  d::decode_chunk_append(flags, none, decoded);
  EXPECT_EQ(decoded, (std::vector<bool>{true, false, true}));

  std::vector<int> out;
  EXPECT_THROW(d::decode_chunk_append(std::string_view(bytes).substr(0, 5), none, out), mp::error);
  EXPECT_THROW(
      d::decode_chunk_append(std::string_view(bytes).substr(0, bytes.size() - 1), none, out),
      mp::error);
  std::string huge(8, '\xff');
  EXPECT_THROW(d::decode_chunk_append(huge, none, out), mp::error);
  EXPECT_THROW(d::decode_chunk_append(bytes + "x", none, out), mp::error);
  EXPECT_TRUE(out.empty());
}
