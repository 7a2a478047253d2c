# justclick-lua: build, test, memcheck, bench and lint.  See README.md.

# The Lua the module is built for: 5.4 (the default, and the host's), 5.3, 5.1 or jit (LuaJIT 2.1).
# LUA_INCDIR names its headers' directory; without it, pkg-config finds them, as for lua-cjson.
# Given LUA_INCDIR alone (luarocks passes only that), the version is that lua.h's, and jit where
# luajit.h sits beside it.
ifeq ($(origin LUA_VERSION)$(if $(LUA_INCDIR),,none),undefined)
LUA_VERSION := $(shell test -f '$(LUA_INCDIR)/luajit.h' && echo jit || \
  sed -n 's/^\#define[[:space:]]*LUA_VERSION_NUM[[:space:]]*50\([0-9]\)$$/5.\1/p' '$(LUA_INCDIR)/lua.h' 2>/dev/null)
endif
LUA_VERSION ?= 5.4
LUA_PKG_5.1 := lua5.1
LUA_PKG_5.3 := lua5.3
LUA_PKG_5.4 := lua5.4
LUA_PKG_jit := luajit
LUA_PKG     := $(LUA_PKG_$(LUA_VERSION))
ifeq ($(LUA_PKG),)
$(error LUA_VERSION must be 5.1, 5.3, 5.4 or jit, not "$(LUA_VERSION)"$(if $(LUA_INCDIR), (read from $(LUA_INCDIR)/lua.h)))
endif
# The interpreter of that version runs the specs; the host and the build tools are Lua 5.4's.
LUA_BIN_5.1 := lua5.1
LUA_BIN_5.3 := lua5.3
LUA_BIN_5.4 := lua5.4
LUA_BIN_jit := luajit
LUA        ?= $(LUA_BIN_$(LUA_VERSION))
LUA54      := lua5.4
PKG_CONFIG ?= pkg-config
# Debian's `busted` command starts Lua 5.1; the same runner under the chosen Lua:
BUSTED     ?= $(LUA) /usr/bin/busted
VALGRIND   ?= valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99

CC         ?= cc
CFLAGS     ?= -O2 -g
# A user's build warns; CI and `make check` add WERROR=-Werror.
WERROR     ?=
WARNINGS   := -std=c11 -Wall -Wextra -Wpedantic $(WERROR) -Wshadow -Wstrict-prototypes
# Without pkg-config or the -dev packages, make stops at once with one line (below).
DEPS_PKGS   := libcrypto libcurl libmicrohttpd
# luarocks passes the directories it found for each library (the rockspec's external_dependencies,
# which a user may override, CURL_DIR=/opt/curl); they come before pkg-config's flags. Debian
# keeps curl's headers in a multiarch directory that luarocks does not search but the compiler
# does, so CURL_INCDIR may be /usr/include, without curl/curl.h in it.
EXT_INCDIRS := $(sort $(CURL_INCDIR) $(OPENSSL_INCDIR) $(MICROHTTPD_INCDIR))
EXT_LIBDIRS := $(sort $(CURL_LIBDIR) $(OPENSSL_LIBDIR) $(MICROHTTPD_LIBDIR))
LUA_CFLAGS  := $(if $(LUA_INCDIR),-I$(LUA_INCDIR),$(shell $(PKG_CONFIG) --cflags $(LUA_PKG) 2>/dev/null))
DEPS_OK     := $(shell { [ -n "$(EXT_LIBDIRS)" ] || $(PKG_CONFIG) --exists $(DEPS_PKGS) 2>/dev/null; } && { [ -n "$(LUA_INCDIR)" ] || $(PKG_CONFIG) --exists $(LUA_PKG); } && echo yes)
DEPS_CFLAGS := $(LUA_CFLAGS) $(addprefix -I,$(EXT_INCDIRS)) $(shell $(PKG_CONFIG) --cflags $(DEPS_PKGS) 2>/dev/null)
# A Lua module takes the Lua API from the program that loads it: no -llua here.
DEPS_LIBS   := $(addprefix -L,$(EXT_LIBDIRS)) $(or $(shell $(PKG_CONFIG) --libs $(DEPS_PKGS) 2>/dev/null),-lcrypto -lcurl -lmicrohttpd) -pthread -lm
HOST_LIBS   := $(addprefix -L,$(LUA_LIBDIR) $(EXT_LIBDIRS)) $(or $(shell $(PKG_CONFIG) --libs lua5.4 $(DEPS_PKGS) 2>/dev/null),-llua5.4 -lcrypto -lcurl -lmicrohttpd) -pthread -lm
# Goals that build need them; make stops before anything runs, with one line.
ifneq ($(DEPS_OK),yes)
ifneq ($(filter-out clean demo sandbox uninstall lint rock,$(or $(MAKECMDGOALS),all)),)
$(error missing build dependencies (Lua $(LUA_VERSION), libcurl, OpenSSL and libmicrohttpd headers, pkg-config): run scripts/deps.sh, or make demo)
endif
endif

# The 5.4 build holds the host too; any other Lua's module is built beside it.
BUILD      := $(if $(filter 5.4,$(LUA_VERSION)),build,build-$(LUA_VERSION))
# The module sits where Lua's plain C searcher finds it first, as it is installed:
# LUA_CPATH="build/lua/?.so;;" reaches build/lua/justclick/core.so before any installed copy.
# (Through the all-in-one searcher, an installed justclick/core.so would win.)
MODULE     := $(BUILD)/lua/justclick/core.so
HOST       := $(BUILD)/bin/justclick
CORE_SRC   := src/compat.c src/core.c src/query.c src/sign.c src/reply.c src/http.c src/journal.c src/sys.c src/phpfmt.c src/buffer.c \
              src/form.c src/secret.c src/inbox.c src/notify.c src/serve.c
HEADERS    := $(wildcard src/*.h)
OBJ        := $(CORE_SRC:src/%.c=$(BUILD)/obj/%.o)

# Installation: the standard paths of LUA_VERSION's Lua under PREFIX (LuaJIT's are 5.1's);
# DESTDIR for staging. luarocks passes INST_LUADIR, INST_LIBDIR and INST_BINDIR.
PREFIX      ?= /usr/local
LUA_ABI     := $(if $(filter jit,$(LUA_VERSION)),5.1,$(LUA_VERSION))
INST_LUADIR ?= $(PREFIX)/share/lua/$(LUA_ABI)
INST_LIBDIR ?= $(PREFIX)/lib/lua/$(LUA_ABI)
INST_BINDIR ?= $(PREFIX)/bin

.PHONY: all check check-busy test test-all jit-module memcheck asan fuzz bench bench-flood lint sandbox demo install uninstall rock clean
all: $(MODULE) $(if $(filter 5.4,$(LUA_VERSION)),$(HOST))

# The shared object exports luaopen_justclick_core alone (core.h's JC_EXPORT), as luasystem's
# does: no jc_* name of ours can clash with another module's or the host's.
$(BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARNINGS) $(CFLAGS) -fPIC -fvisibility=hidden -pthread $(DEPS_CFLAGS) -c $< -o $@

$(MODULE): $(OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -o $@ $(OBJ) $(DEPS_LIBS)

# The host program: Lua 5.4, the C core linked in, and lua/justclick.lua embedded.
# Each Lua module as NAME=FILE; NAME is what require takes.
LUA_MODULES := justclick=lua/justclick.lua justclick.engine=lua/justclick/engine.lua \
  justclick.errors=lua/justclick/errors.lua justclick.import=lua/justclick/import.lua \
  justclick.import.rows=lua/justclick/import/rows.lua \
  justclick.import.journal=lua/justclick/import/journal.lua \
  justclick.import.reconcile=lua/justclick/import/reconcile.lua \
  justclick.import.pace=lua/justclick/import/pace.lua \
  justclick.serve=lua/justclick/serve.lua
LUA_FILES   := $(foreach m,$(LUA_MODULES),$(word 2,$(subst =, ,$(m))))
$(BUILD)/embedded.c: $(LUA_FILES) tools/embed.lua
	@mkdir -p $(dir $@)
	$(LUA54) tools/embed.lua $(LUA_MODULES) > $@

$(BUILD)/obj/embedded.o: $(BUILD)/embedded.c
	$(CC) $(WARNINGS) $(CFLAGS) -c $< -o $@

$(HOST): $(BUILD)/obj/host.o $(BUILD)/obj/preload.o $(BUILD)/obj/embedded.o $(OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(HOST_LIBS)

# All specs (.busted sets the paths) under LUA_VERSION's Lua; the last line is "N passed, N
# failed". nginx_spec's nginx loads the LuaJIT build whatever Lua runs busted, so it is made too.
# Under another Lua than 5.4, the specs tagged lua54 (the host, import and serve, which are Lua
# 5.4 programs) are left to the 5.4 run, and the host they start is the 5.4 build's.
ifeq ($(LUA_VERSION),5.4)
test: all jit-module
	@command -v busted > /dev/null && command -v php > /dev/null || { echo "missing test dependencies (busted, php): run scripts/deps.sh" >&2; exit 1; }
	$(BUSTED)
else
test: all jit-module
	@$(MAKE) --no-print-directory LUA_VERSION=5.4 all
	$(BUSTED) --cpath='$(BUILD)/lua/?.so' --exclude-tags=lua54
endif

# The LuaJIT module, which the nginx spec's nginx loads whatever Lua runs busted.
jit-module:
	@$(MAKE) --no-print-directory LUA_VERSION=jit all

# The specs under every Lua: 5.1, LuaJIT and 5.3 at once, then 5.4 alone; the last line sums
# them: "N passed, N failed" (scripts/test-all.sh).
TEST_LUAS ?= 5.1 jit 5.3 5.4
test-all:
	@scripts/test-all.sh $(TEST_LUAS)

# What CI builds: warnings are errors.
check:
	@$(MAKE) --no-print-directory WERROR=-Werror test-all

# make check while a spinning shell keeps one core busy (BUSY_HOGS=n for more), as other work on
# the machine would: the specs must pass there too. The spinner is stopped however it ends.
check-busy:
	@scripts/busy.sh $(MAKE) --no-print-directory check

# All specs under valgrind, then the host on a dry run and on os.exit: no definite leak and no
# invalid access, or it fails.
memcheck: all jit-module
	$(VALGRIND) $(BUSTED)
	JUSTCLICK_SECRET=memcheck $(VALGRIND) $(HOST) --user memcheck --dry-run examples/demo.lua > /dev/null
	$(VALGRIND) $(HOST) -e 'setmetatable({}, {__gc = function() end}) os.exit(0)'
	scripts/memcheck-serve.sh "$(VALGRIND)" $(HOST)

BENCH_WALK := $(BUILD)/bench_walk.so
$(BENCH_WALK): bench/walk.c
	@mkdir -p $(dir $@)
	$(CC) $(WARNINGS) $(CFLAGS) -fPIC -shared $(DEPS_CFLAGS) $(LDFLAGS) -o $@ $<

# form.c with a hash under which every key collides: the flooding worst case (bench/flood.c).
BENCH_FLOOD := $(BUILD)/bench_flood
$(BENCH_FLOOD): bench/flood.c src/form.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARNINGS) $(CFLAGS) -pthread $(DEPS_CFLAGS) $(LDFLAGS) -o $@ bench/flood.c $(HOST_LIBS)

bench-flood: $(BENCH_FLOOD)
	@$(BENCH_FLOOD)

bench: all $(BENCH_WALK) $(BENCH_FLOOD)
	@$(LUA54) bench/sign.lua
	@$(LUA54) bench/instructions.lua
	@$(LUA54) bench/client.lua
	@$(LUA54) bench/scaling.lua
	@$(LUA54) bench/import.lua
	@$(LUA54) bench/notify.lua
	@$(LUA54) bench/serve.lua
	@$(BENCH_FLOOD)

# The core and the host with AddressSanitizer and UBSan, running every spec. The instrumented
# host is itself the Lua that runs busted, with the instrumented core built in (preloading the
# ASan runtime into lua5.4 instead would break the php the specs start). Leaks are valgrind's
# job (make memcheck).
ASAN_BUILD := build-asan
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
asan: all jit-module
	$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CFLAGS="$(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" all
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  JUSTCLICK_HOST=$(CURDIR)/$(ASAN_BUILD)/bin/justclick $(ASAN_BUILD)/bin/justclick /usr/bin/busted

# libFuzzer (clang) harnesses for the encoder, the reply path and the form parser, each run for FUZZ_TIME
# seconds from the seed corpus in fuzz/corpus; see scripts/fuzz.sh.
FUZZ_BUILD := build-fuzz
FUZZ_CC    ?= clang
FUZZ_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_TIME  ?= 30
FUZZ_OBJ   := $(CORE_SRC:src/%.c=$(FUZZ_BUILD)/obj/%.o) $(FUZZ_BUILD)/obj/preload.o $(FUZZ_BUILD)/obj/embedded.o

$(FUZZ_BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARNINGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -pthread $(DEPS_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/obj/embedded.o: $(BUILD)/embedded.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -c $< -o $@

# Kept between runs: make would delete them as intermediates of the pattern rule below.
.SECONDARY: $(FUZZ_OBJ)
$(FUZZ_BUILD)/%_fuzz: fuzz/%_fuzz.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(WARNINGS) $(FUZZ_FLAGS) -fsanitize=fuzzer $(DEPS_CFLAGS) -o $@ $^ $(HOST_LIBS)

fuzz: $(FUZZ_BUILD)/query_fuzz $(FUZZ_BUILD)/reply_fuzz $(FUZZ_BUILD)/form_fuzz
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_TIME) query reply form

# The docs' example order against the sandbox, on a fresh machine: installs, builds, runs.
demo:
	scripts/demo.sh

# The local JustClick stand-in, by hand: make sandbox PORT=8080 (Ctrl-C stops it).
PORT ?= 8080
sandbox:
	php sandbox/server.php $(PORT)

lint:
	luacheck lua spec bench examples tools
	cppcheck --enable=warning,style,performance,portability --std=c11 --inline-suppr \
	  --suppress=toomanyconfigs --error-exitcode=1 -q $(DEPS_CFLAGS) src

# Every Lua gets the module and the Lua files that run on every Lua; 5.4 also gets the host and
# the Lua 5.4 files of its commands (import, serve), which it embeds but `lua5.4` can require.
# (luarocks passes its own INST_* directories, and builds the module for the Lua it was given.)
HOST_ONLY_LUA := lua/justclick/import.lua lua/justclick/import/%.lua lua/justclick/serve.lua
INSTALL_LUA   := $(sort $(wildcard lua/*.lua lua/justclick/*.lua lua/justclick/*/*.lua))
INSTALL_LUA   := $(if $(filter 5.4,$(LUA_VERSION)),$(INSTALL_LUA),$(filter-out $(HOST_ONLY_LUA),$(INSTALL_LUA)))
install: all
	install -d $(DESTDIR)$(INST_LIBDIR)/justclick $(sort $(dir $(INSTALL_LUA:lua/%=$(DESTDIR)$(INST_LUADIR)/%)))
	for f in $(INSTALL_LUA); do install -m 644 $$f $(DESTDIR)$(INST_LUADIR)/$${f#lua/}; done
	install -m 755 $(MODULE) $(DESTDIR)$(INST_LIBDIR)/justclick/core.so
ifeq ($(LUA_VERSION),5.4)
	install -d $(DESTDIR)$(INST_BINDIR)
	install -m 755 $(HOST) $(DESTDIR)$(INST_BINDIR)/justclick
endif

uninstall:
	for f in $(INSTALL_LUA); do rm -f $(DESTDIR)$(INST_LUADIR)/$${f#lua/}; done
	rm -f $(DESTDIR)$(INST_LIBDIR)/justclick/core.so
	-rmdir $(DESTDIR)$(INST_LUADIR)/justclick/import $(DESTDIR)$(INST_LUADIR)/justclick
	-rmdir $(DESTDIR)$(INST_LIBDIR)/justclick
ifeq ($(LUA_VERSION),5.4)
	rm -f $(DESTDIR)$(INST_BINDIR)/justclick
endif

# The source rock, justclick-VERSION-1.src.rock in ROCK_DIR. luarocks pack fetches the rockspec's
# source (its git URL at tag vVERSION) as a user's luarocks would; git's url.insteadOf sends that
# clone to a scratch repository holding this work tree's HEAD under that tag. Nothing is
# downloaded, the rock carries HEAD's rockspec as published, and uncommitted changes are in
# neither.
VERSION    := $(shell sed -n 's/^\#define JC_VERSION "\(.*\)"/\1/p' src/core.h)
ROCKSPEC   := justclick-$(VERSION)-1.rockspec
ROCK_DIR   ?= .
LUAROCKS   ?= luarocks
rock:
	@test -f $(ROCKSPEC) || { echo "no $(ROCKSPEC) for JC_VERSION $(VERSION) in src/core.h" >&2; exit 1; }
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	git show HEAD:$(ROCKSPEC) > "$$tmp/$(ROCKSPEC)" && \
	url=$$(sed -n 's/^ *url = "git+\(.*\)",$$/\1/p' "$$tmp/$(ROCKSPEC)") && \
	tag=$$(sed -n 's/^ *tag = "\(.*\)",$$/\1/p' "$$tmp/$(ROCKSPEC)") && \
	{ [ "$$tag" = "v$(VERSION)" ] || { echo "$(ROCKSPEC): source.tag is not v$(VERSION)" >&2; exit 1; }; } && \
	git init -q --bare "$$tmp/src.git" && git push -q "$$tmp/src.git" "+HEAD:refs/tags/$$tag" && \
	cd $(ROCK_DIR) && \
	GIT_CONFIG_COUNT=2 GIT_CONFIG_KEY_0="url.file://$$tmp/src.git.insteadOf" GIT_CONFIG_VALUE_0="$$url" \
	  GIT_CONFIG_KEY_1=advice.detachedHead GIT_CONFIG_VALUE_1=false \
	  $(LUAROCKS) pack "$$tmp/$(ROCKSPEC)"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
