#include "plugin/config/mask.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace rftgate {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(MaskSecretsTest, KeyValueForms) {
  EXPECT_EQ(MaskSecrets("dbname=wms user=u password=s3cret host=db"),
            "dbname=wms user=u password=*** host=db");
  EXPECT_EQ(MaskSecrets("postgresql://dbname=wms password=s3cret"),
            "postgresql://dbname=wms password=***");
  EXPECT_EQ(MaskSecrets("PASSWORD = s3cret;"), "PASSWORD = ***;");
  EXPECT_EQ(MaskSecrets("DSN=x;UID=u;PWD=s3cret;"), "DSN=x;UID=u;PWD=***;");
  EXPECT_EQ(MaskSecrets("PWD={a;b c};DSN=x"), "PWD=***;DSN=x");
  EXPECT_EQ(MaskSecrets("passwd=abc&x=1"), "passwd=***&x=1");
  EXPECT_EQ(MaskSecrets("--password=s3cret --verbose"),
            "--password=*** --verbose");
}

TEST(MaskSecretsTest, QuotedValues) {
  EXPECT_EQ(MaskSecrets(R"(host=db password='it\'s a secret' port=5432)"),
            "host=db password=*** port=5432");
  EXPECT_EQ(MaskSecrets(R"(password="two words" x)"), "password=*** x");
  EXPECT_EQ(MaskSecrets(R"({"user": "u", "password": "s3cret"})"),
            R"({"user": "u", "password": ***})");
  EXPECT_EQ(MaskSecrets("password: s3cret\n"), "password: ***\n");
  // An unterminated quote hides everything after it.
  EXPECT_EQ(MaskSecrets("password='abc def"), "password=***");
}

TEST(MaskSecretsTest, UriUserInfo) {
  EXPECT_EQ(MaskSecrets("postgresql://bob:s3cret@db:5432/wms"),
            "postgresql://bob:***@db:5432/wms");
  EXPECT_EQ(MaskSecrets("connect to mysql://u:p@ss@host/db failed"),
            "connect to mysql://u:***@host/db failed");
  EXPECT_EQ(MaskSecrets("postgresql://bob@db/wms"), "postgresql://bob@db/wms");
  EXPECT_EQ(MaskSecrets("see https://example.com/a:b@c"),
            "see https://example.com/a:b@c");
}

TEST(MaskSecretsTest, LeavesOtherKeysAlone) {
  const std::string text =
      "password_env: DB_PASS password_file=/run/secret user=password";
  EXPECT_EQ(MaskSecrets(text), text);
  EXPECT_EQ(MaskSecrets("no secrets here"), "no secrets here");
  EXPECT_EQ(MaskSecrets(""), "");
  EXPECT_EQ(MaskSecrets("password="), "password=");
  EXPECT_EQ(MaskSecrets("mypassword=x"), "mypassword=x");
}

TEST(MaskSecretsTest, Literals) {
  EXPECT_EQ(MaskSecrets("login failed for hunter2 (hunter2)", {"hunter2"}),
            "login failed for *** (***)");
  EXPECT_EQ(MaskSecrets("ab abc", {"ab", "abc", ""}), "*** ***");
  EXPECT_EQ(MaskSecrets("x=*", {"*"}), "x=***");
}

TEST(FindSecretsTest, ReturnsTheValues) {
  EXPECT_THAT(FindSecrets(R"(a password='x\'y' pwd=z b://u:w@h)"),
              ElementsAre(R"(x\'y)", "z", "w"));
  EXPECT_THAT(FindSecrets("dbname=wms"), IsEmpty());
}

}  // namespace
}  // namespace rftgate
