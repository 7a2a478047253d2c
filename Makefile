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
# Without pkg-config or the -dev packages, make stops at once with one line (below). The library
# (justclick.core) needs libcurl and OpenSSL; the receiver and the host, Lua 5.4's, also need
# libmicrohttpd and SQLite (the event store), which are asked for only when a goal builds them.
LIB_PKGS      := libcrypto libcurl
RECEIVER_PKGS := libmicrohttpd sqlite3
# Goals that build the library alone, or nothing.
LIB_ONLY_GOALS := library install-library clean demo sandbox uninstall lint rock
ifeq ($(LUA_VERSION),5.4)
WANTS_RECEIVER := $(filter-out $(LIB_ONLY_GOALS),$(or $(MAKECMDGOALS),all))
else
WANTS_RECEIVER := $(filter receiver host install-host asan fuzz memcheck bench,$(MAKECMDGOALS))
endif
DEPS_PKGS   := $(LIB_PKGS) $(if $(WANTS_RECEIVER),$(RECEIVER_PKGS))
# luarocks passes the directories it found for each library (the rockspec's external_dependencies,
# which a user may override, CURL_DIR=/opt/curl); they come before pkg-config's flags. Debian
# keeps curl's headers in a multiarch directory that luarocks does not search but the compiler
# does, so CURL_INCDIR may be /usr/include, without curl/curl.h in it.
EXT_INCDIRS := $(sort $(CURL_INCDIR) $(OPENSSL_INCDIR) $(MICROHTTPD_INCDIR) $(SQLITE_INCDIR))
EXT_LIBDIRS := $(sort $(CURL_LIBDIR) $(OPENSSL_LIBDIR) $(MICROHTTPD_LIBDIR) $(SQLITE_LIBDIR))
LUA_CFLAGS  := $(if $(LUA_INCDIR),-I$(LUA_INCDIR),$(shell $(PKG_CONFIG) --cflags $(LUA_PKG) 2>/dev/null))
DEPS_OK     := $(shell { [ -n "$(EXT_LIBDIRS)" ] || $(PKG_CONFIG) --exists $(DEPS_PKGS) 2>/dev/null; } && { [ -n "$(LUA_INCDIR)" ] || $(PKG_CONFIG) --exists $(LUA_PKG); } && echo yes)
# Pure C (src/pure) sees OpenSSL's headers and no Lua's; the rest sees them all.
PURE_CFLAGS := $(addprefix -I,$(OPENSSL_INCDIR) $(SQLITE_INCDIR)) $(shell $(PKG_CONFIG) --cflags libcrypto 2>/dev/null)
DEPS_CFLAGS := $(LUA_CFLAGS) $(addprefix -I,$(EXT_INCDIRS)) $(shell $(PKG_CONFIG) --cflags $(DEPS_PKGS) 2>/dev/null)
# A Lua module takes the Lua API from the program that loads it: no -llua here.
LIB_LIBS    := $(addprefix -L,$(EXT_LIBDIRS)) $(or $(shell $(PKG_CONFIG) --libs $(LIB_PKGS) 2>/dev/null),-lcrypto -lcurl) -lm
RECEIVER_LIBS := $(addprefix -L,$(EXT_LIBDIRS)) $(or $(shell $(PKG_CONFIG) --libs libcrypto $(RECEIVER_PKGS) 2>/dev/null),-lcrypto -lmicrohttpd -lsqlite3) -pthread -lm
HOST_LIBS   := $(addprefix -L,$(LUA_LIBDIR) $(EXT_LIBDIRS)) $(or $(shell $(PKG_CONFIG) --libs lua5.4 $(LIB_PKGS) $(RECEIVER_PKGS) 2>/dev/null),-llua5.4 -lcrypto -lcurl -lmicrohttpd -lsqlite3) -pthread -lm
comma := ,
# Goals that build need them; make stops before anything runs, with one line.
ifneq ($(DEPS_OK),yes)
ifneq ($(filter-out clean demo sandbox uninstall lint rock,$(or $(MAKECMDGOALS),all)),)
$(error missing build dependencies (Lua $(LUA_VERSION), libcurl and OpenSSL headers$(if $(WANTS_RECEIVER),$(comma) and libmicrohttpd and SQLite for the receiver and the host)$(comma) pkg-config): run scripts/deps.sh, or make demo)
endif
endif

# The 5.4 build holds the receiver and the host too; any other Lua's library is built beside it.
BUILD      := $(if $(filter 5.4,$(LUA_VERSION)),build,build-$(LUA_VERSION))
# The modules sit where Lua's plain C searcher finds them first, as they are installed:
# LUA_CPATH="build/lua/?.so;;" reaches build/lua/justclick/core.so before any installed copy.
# (Through the all-in-one searcher, an installed justclick/core.so would win.)
LIB_MODULE      := $(BUILD)/lua/justclick/core.so
MODULE          := $(LIB_MODULE)
RECEIVER_MODULE := $(BUILD)/lua/justclick/receiver.so
BENCH_MODULE    := $(BUILD)/lua/justclick/bench.so
HOST            := $(BUILD)/bin/justclick

# The layers, which spec/include_graph_spec.lua checks: src/pure is C
# without Lua; src/bind the Lua bindings and the Lua-side code they share (SUPPORT); src/modules
# the luaopen_* entries, which only aggregate; src/host the program.
PURE_SRC     := $(addprefix src/pure/,buffer.c phpfmt.c md5.c form.c notice.c durable.c sys.c secretfile.c)
SUPPORT_SRC  := $(addprefix src/bind/,compat.c luabuf.c support.c encode.c formtable.c)
LIB_SRC      := $(PURE_SRC) $(SUPPORT_SRC) \
                $(addprefix src/bind/,query.c sign.c reply.c form.c http.c journal.c sys.c secret.c notify.c constants.c) \
                src/modules/core.c
RECEIVER_SRC := src/pure/store.c src/pure/inbox_v1.c src/bind/inboxud.c src/bind/store.c src/bind/receiver.c src/modules/receiver.c
BENCH_SRC    := src/bind/bench.c src/modules/bench.c
HEADERS      := $(wildcard src/*/*.h)
PURE_HEADERS := $(wildcard src/pure/*.h)
obj = $(patsubst src/%.c,$(BUILD)/obj/%.o,$(1))
LIB_OBJ      := $(call obj,$(LIB_SRC))
# The receiver's own shared object carries the pure units and the support it uses.
RECEIVER_OBJ := $(call obj,$(RECEIVER_SRC) $(PURE_SRC) $(SUPPORT_SRC))
BENCH_OBJ    := $(call obj,$(BENCH_SRC) src/bind/journal.c $(PURE_SRC) $(SUPPORT_SRC))
HOST_OBJ     := $(call obj,src/host/host.c src/modules/preload.c $(LIB_SRC) $(RECEIVER_SRC)) $(BUILD)/obj/embedded.o

# Installation: the standard paths of LUA_VERSION's Lua under PREFIX (LuaJIT's are 5.1's);
# DESTDIR for staging. luarocks passes INST_LUADIR, INST_LIBDIR and INST_BINDIR.
PREFIX      ?= /usr/local
LUA_ABI     := $(if $(filter jit,$(LUA_VERSION)),5.1,$(LUA_VERSION))
INST_LUADIR ?= $(PREFIX)/share/lua/$(LUA_ABI)
INST_LIBDIR ?= $(PREFIX)/lib/lua/$(LUA_ABI)
INST_BINDIR ?= $(PREFIX)/bin

.PHONY: all library receiver host install-library install-host check check-busy test test-all jit-module memcheck asan fuzz bench bench-flood lint sandbox nginx-example demo install uninstall rock clean
# The library for every Lua; the receiver and the host under 5.4.
all: library $(if $(filter 5.4,$(LUA_VERSION)),receiver host)
library: $(LIB_MODULE)
ifeq ($(LUA_VERSION),5.4)
receiver: $(RECEIVER_MODULE)
# the host rock builds both: the program and the receiver's module, which lua5.4 can require
host: $(RECEIVER_MODULE) $(HOST)
else
receiver host:
	@echo "the receiver and the host are built for Lua 5.4 only: make LUA_VERSION=5.4 $@" >&2; exit 1
endif

# Each shared object exports its luaopen_* alone (modules.h's JC_EXPORT), as luasystem's does: no
# jc_* name of ours can clash with another module's or the host's. Pure C is built without the
# Lua headers on its include path.
$(BUILD)/obj/pure/%.o: src/pure/%.c $(PURE_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARNINGS) $(CFLAGS) -fPIC -fvisibility=hidden -pthread $(PURE_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARNINGS) $(CFLAGS) -fPIC -fvisibility=hidden -pthread $(DEPS_CFLAGS) -c $< -o $@

$(LIB_MODULE): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -o $@ $(LIB_OBJ) $(LIB_LIBS)

$(RECEIVER_MODULE): $(RECEIVER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -o $@ $(RECEIVER_OBJ) $(RECEIVER_LIBS)

# Benchmark hooks (cpu), for bench/ and the specs; never installed.
$(BENCH_MODULE): $(BENCH_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -o $@ $(BENCH_OBJ) $(LIB_LIBS)

# The host program: Lua 5.4, the C core linked in, and lua/justclick.lua embedded.
# Each Lua module as NAME=FILE; NAME is what require takes.
LUA_MODULES := justclick=lua/justclick.lua justclick.engine=lua/justclick/engine.lua \
  justclick.errors=lua/justclick/errors.lua justclick.import=lua/justclick/import.lua \
  justclick.import.rows=lua/justclick/import/rows.lua \
  justclick.import.journal=lua/justclick/import/journal.lua \
  justclick.import.reconcile=lua/justclick/import/reconcile.lua \
  justclick.import.pace=lua/justclick/import/pace.lua \
  justclick.serve=lua/justclick/serve.lua justclick.events=lua/justclick/events.lua \
  justclick.catchup=lua/justclick/catchup.lua
LUA_FILES   := $(foreach m,$(LUA_MODULES),$(word 2,$(subst =, ,$(m))))
$(BUILD)/embedded.c: $(LUA_FILES) tools/embed.lua
	@mkdir -p $(dir $@)
	$(LUA54) tools/embed.lua $(LUA_MODULES) > $@

$(BUILD)/obj/embedded.o: $(BUILD)/embedded.c
	$(CC) $(WARNINGS) $(CFLAGS) -c $< -o $@

$(HOST): $(HOST_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(HOST_LIBS)

# All specs (.busted sets the paths) under LUA_VERSION's Lua; the last line is "N passed, N
# failed". nginx_spec's nginx loads the LuaJIT build whatever Lua runs busted, so it is made too.
# Under another Lua than 5.4, the specs tagged lua54 (the host, import and serve, which are Lua
# 5.4 programs) are left to the 5.4 run, and the host they start is the 5.4 build's.
ifeq ($(LUA_VERSION),5.4)
test: all $(BENCH_MODULE) jit-module
	@command -v busted > /dev/null && command -v php > /dev/null || { echo "missing test dependencies (busted, php): run scripts/deps.sh" >&2; exit 1; }
	$(BUSTED)
else
test: all $(BENCH_MODULE) jit-module
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

# The specs whose subject runs in another process: the host (build/bin/justclick, which asan's
# run instruments, and scripts/memcheck-serve.sh runs under valgrind), the sandbox's PHP, nginx,
# luarocks. Under valgrind they would only watch busted wait for that process.
OUT_OF_PROCESS_SPECS := $(addprefix spec/,$(addsuffix _spec.lua,serve soak serve_disk serve_checkpoint_starved \
  serve_failure_lines serve_trust_proxy serve_hand_edited_key events host host_closed_std_fds import_kill \
  import_fsize import_sigint import_interrupt_summary import_exit_status rockspec nginx_example sandbox \
  sandbox_notify sandbox_banner sandbox_bill_events sandbox_notify_faults sandbox_orders_with_goods catch_up \
  catch_up_kill catch_up_kill_flood catch_up_hostile_orders catch_up_sigterm catch_up_full_disk \
  paid_bills_summer_time sandbox_store_open))
MEMCHECK_SPECS := $(filter-out $(OUT_OF_PROCESS_SPECS),$(sort $(wildcard spec/*_spec.lua)))

# The specs under valgrind (but those above), then the host on a dry run and on os.exit, and
# serving: no definite leak and no invalid access, or it fails.
memcheck: all $(BENCH_MODULE) jit-module
	$(VALGRIND) $(BUSTED) $(MEMCHECK_SPECS)
	JUSTCLICK_SECRET=memcheck $(VALGRIND) $(HOST) --user memcheck --dry-run examples/demo.lua > /dev/null
	$(VALGRIND) $(HOST) -e 'setmetatable({}, {__gc = function() end}) os.exit(0)'
	scripts/memcheck-serve.sh "$(VALGRIND)" $(HOST)

BENCH_WALK := $(BUILD)/bench_walk.so
$(BENCH_WALK): bench/walk.c
	@mkdir -p $(dir $@)
	$(CC) $(WARNINGS) $(CFLAGS) -fPIC -shared $(DEPS_CFLAGS) $(LDFLAGS) -o $@ $<

# form.c with a hash under which every key collides: the flooding worst case (bench/flood.c).
# Pure C: no Lua.
BENCH_FLOOD := $(BUILD)/bench_flood
$(BENCH_FLOOD): bench/flood.c src/pure/form.c $(PURE_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARNINGS) $(CFLAGS) -pthread $(PURE_CFLAGS) $(LDFLAGS) -o $@ bench/flood.c -pthread -lm

bench-flood: $(BENCH_FLOOD)
	@$(BENCH_FLOOD)

bench: all $(BENCH_MODULE) $(BENCH_WALK) $(BENCH_FLOOD) jit-module
	@$(LUA54) bench/sign.lua
	@$(LUA54) bench/instructions.lua
	@$(LUA54) bench/client.lua
	@$(LUA54) bench/scaling.lua
	@$(LUA54) bench/import.lua
	@$(LUA54) bench/notify.lua
	@$(LUA54) bench/serve.lua
	@$(LUA54) bench/catchup.lua
	@$(LUA54) bench/nginx.lua
	@$(BENCH_FLOOD)

# The core and the host with AddressSanitizer and UBSan, running every spec. The instrumented
# host is itself the Lua that runs busted, with the instrumented core built in (preloading the
# ASan runtime into lua5.4 instead would break the php the specs start). Leaks are valgrind's
# job (make memcheck).
ASAN_BUILD := build-asan
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
asan: all $(BENCH_MODULE) jit-module
	$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CFLAGS="$(ASAN_FLAGS)" LDFLAGS="$(ASAN_FLAGS)" all
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  JUSTCLICK_HOST=$(CURDIR)/$(ASAN_BUILD)/bin/justclick $(ASAN_BUILD)/bin/justclick /usr/bin/busted

# libFuzzer (clang) harnesses, each run for FUZZ_TIME seconds from the seed corpus in fuzz/corpus
# (scripts/fuzz.sh): the form parser alone (form: pure C, built and linked without Lua), and
# through Lua the encoder (query), the reply path (reply) and parse_query (parse_query).
FUZZ_BUILD := build-fuzz
FUZZ_CC    ?= clang
FUZZ_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_TIME  ?= 30
FUZZ_PURE_OBJ := $(PURE_SRC:src/%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_OBJ   := $(patsubst src/%.c,$(FUZZ_BUILD)/obj/%.o,$(LIB_SRC) $(RECEIVER_SRC) src/modules/preload.c) \
              $(FUZZ_BUILD)/obj/embedded.o
PURE_LIBS  := $(addprefix -L,$(OPENSSL_LIBDIR)) $(or $(shell $(PKG_CONFIG) --libs libcrypto 2>/dev/null),-lcrypto) -pthread -lm

$(FUZZ_BUILD)/obj/pure/%.o: src/pure/%.c $(PURE_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARNINGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -pthread $(PURE_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARNINGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -pthread $(DEPS_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/obj/embedded.o: $(BUILD)/embedded.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -c $< -o $@

# Kept between runs: make would delete them as intermediates of the pattern rules below.
.SECONDARY: $(FUZZ_OBJ) $(FUZZ_PURE_OBJ)
$(FUZZ_BUILD)/form_fuzz: fuzz/form_fuzz.c $(FUZZ_PURE_OBJ)
	$(FUZZ_CC) $(WARNINGS) $(FUZZ_FLAGS) -fsanitize=fuzzer $(PURE_CFLAGS) -o $@ $^ $(PURE_LIBS)

$(FUZZ_BUILD)/%_fuzz: fuzz/%_fuzz.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(WARNINGS) $(FUZZ_FLAGS) -fsanitize=fuzzer $(DEPS_CFLAGS) -o $@ $^ $(HOST_LIBS)

FUZZ_NAMES := form query reply parse_query
fuzz: $(FUZZ_NAMES:%=$(FUZZ_BUILD)/%_fuzz)
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_TIME) $(FUZZ_NAMES)

# The docs' example order against the sandbox, on a fresh machine: installs, builds, runs.
demo:
	scripts/demo.sh

# The local JustClick stand-in, by hand: make sandbox PORT=8080 (Ctrl-C stops it).
PORT ?= 8080
sandbox:
	php sandbox/server.php $(PORT)

# examples/nginx, a checkout inside nginx, against the sandbox with nothing installed: the shop on
# PORT, what to try printed, Ctrl-C stops it (scripts/nginx-example.sh; --check runs it once).
nginx-example:
	PORT=$(PORT) scripts/nginx-example.sh

lint:
	luacheck lua spec bench examples tools
	cppcheck --enable=warning,style,performance,portability --std=c11 --inline-suppr \
	  --suppress=toomanyconfigs --error-exitcode=1 -q $(DEPS_CFLAGS) src

# Two installs, as the two rocks: the library (every Lua: justclick.core and the Lua files that
# run on every Lua) and the host (Lua 5.4: the program, justclick.receiver, and the Lua files of
# its commands, import, serve, events and catch-up, which it embeds but `lua5.4` can require). No file is in both,
# so that luarocks installs the two rocks side by side. (luarocks passes its own INST_*
# directories, and builds for the Lua it was given.)
HOST_LUA    := lua/justclick/import.lua $(wildcard lua/justclick/import/*.lua) lua/justclick/serve.lua \
               lua/justclick/events.lua lua/justclick/catchup.lua
LIBRARY_LUA := $(filter-out $(HOST_LUA),$(sort $(wildcard lua/*.lua lua/justclick/*.lua lua/justclick/*/*.lua)))

# Each Lua file to the same path under INST_LUADIR (lua/justclick/x.lua -> justclick/x.lua).
define install_lua
	install -d $(sort $(dir $(1:lua/%=$(DESTDIR)$(INST_LUADIR)/%)))
	for f in $(1); do install -m 644 $$f $(DESTDIR)$(INST_LUADIR)/$${f#lua/}; done
endef

install-library: library
	$(call install_lua,$(LIBRARY_LUA))
	install -m 644 lua/justclick/nginx-upstream.conf $(DESTDIR)$(INST_LUADIR)/justclick/
	install -d $(DESTDIR)$(INST_LIBDIR)/justclick
	install -m 755 $(LIB_MODULE) $(DESTDIR)$(INST_LIBDIR)/justclick/core.so

install-host: host
	@test "$(LUA_VERSION)" = 5.4 || { echo "the host is Lua 5.4's, not $(LUA_VERSION)'s" >&2; exit 1; }
	$(call install_lua,$(HOST_LUA))
	install -d $(DESTDIR)$(INST_LIBDIR)/justclick $(DESTDIR)$(INST_BINDIR)
	install -m 755 $(RECEIVER_MODULE) $(DESTDIR)$(INST_LIBDIR)/justclick/receiver.so
	install -m 755 $(HOST) $(DESTDIR)$(INST_BINDIR)/justclick

# Both, under 5.4; the library alone under any other Lua.
install: install-library $(if $(filter 5.4,$(LUA_VERSION)),install-host)

uninstall:
	for f in $(LIBRARY_LUA) $(HOST_LUA); do rm -f $(DESTDIR)$(INST_LUADIR)/$${f#lua/}; done
	rm -f $(DESTDIR)$(INST_LUADIR)/justclick/nginx-upstream.conf
	rm -f $(DESTDIR)$(INST_LIBDIR)/justclick/core.so $(DESTDIR)$(INST_LIBDIR)/justclick/receiver.so
	-rmdir $(DESTDIR)$(INST_LUADIR)/justclick/import $(DESTDIR)$(INST_LUADIR)/justclick
	-rmdir $(DESTDIR)$(INST_LIBDIR)/justclick
	rm -f $(DESTDIR)$(INST_BINDIR)/justclick

# The two source rocks, NAME-VERSION-1.src.rock in ROCK_DIR. luarocks pack fetches a rockspec's
# source (its git URL at tag vVERSION) as a user's luarocks would; git's url.insteadOf sends that
# clone to a scratch repository holding this work tree's HEAD under that tag. Nothing is
# downloaded, each rock carries HEAD's rockspec as published, and uncommitted changes are in
# neither.
VERSION    := $(shell sed -n 's/^\#define JC_VERSION "\(.*\)"/\1/p' src/pure/version.h)
ROCKSPECS  := justclick-$(VERSION)-1.rockspec justclick-host-$(VERSION)-1.rockspec
ROCK_DIR   ?= .
LUAROCKS   ?= luarocks
rock:
	@for r in $(ROCKSPECS); do test -f $$r || { echo "no $$r for JC_VERSION $(VERSION) in src/pure/version.h" >&2; exit 1; }; done
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	git init -q --bare "$$tmp/src.git" && \
	for r in $(ROCKSPECS); do \
	  git show HEAD:$$r > "$$tmp/$$r" && \
	  url=$$(sed -n 's/^ *url = "git+\(.*\)",$$/\1/p' "$$tmp/$$r") && \
	  tag=$$(sed -n 's/^ *tag = "\(.*\)",$$/\1/p' "$$tmp/$$r") && \
	  { [ "$$tag" = "v$(VERSION)" ] || { echo "$$r: source.tag is not v$(VERSION)" >&2; exit 1; }; } && \
	  git push -q "$$tmp/src.git" "+HEAD:refs/tags/$$tag" && \
	  (cd $(ROCK_DIR) && \
	  GIT_CONFIG_COUNT=2 GIT_CONFIG_KEY_0="url.file://$$tmp/src.git.insteadOf" GIT_CONFIG_VALUE_0="$$url" \
	    GIT_CONFIG_KEY_1=advice.detachedHead GIT_CONFIG_VALUE_1=false \
	    $(LUAROCKS) pack "$$tmp/$$r") || exit 1; \
	done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
