# justclick-lua: build, test, memcheck, bench and lint.  See README.md.

LUA        ?= lua5.4
PKG_CONFIG ?= pkg-config
# Debian's `busted` command starts Lua 5.1; the same runner under Lua 5.4:
BUSTED     ?= $(LUA) /usr/bin/busted
VALGRIND   ?= valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99

CC         ?= cc
CFLAGS     ?= -O2 -g
WARNINGS   := -std=c11 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes
DEPS_CFLAGS := $(shell $(PKG_CONFIG) --cflags lua5.4 libcrypto libcurl)
# A Lua module takes the Lua API from the program that loads it: no -llua5.4 here.
DEPS_LIBS   := $(shell $(PKG_CONFIG) --libs libcrypto libcurl)

BUILD      := build
MODULE     := $(BUILD)/justclick/core.so
CORE_SRC   := src/core.c src/query.c src/sign.c src/reply.c src/http.c src/phpfmt.c src/buffer.c
HEADERS    := $(wildcard src/*.h)
OBJ        := $(CORE_SRC:src/%.c=$(BUILD)/obj/%.o)

# Installation: the standard Lua 5.4 paths under PREFIX; DESTDIR for staging. luarocks passes
# INST_LUADIR and INST_LIBDIR.
PREFIX      ?= /usr/local
INST_LUADIR ?= $(PREFIX)/share/lua/5.4
INST_LIBDIR ?= $(PREFIX)/lib/lua/5.4

.PHONY: all test memcheck bench lint sandbox install uninstall clean
all: $(MODULE)

$(BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARNINGS) $(CFLAGS) -fPIC $(DEPS_CFLAGS) -c $< -o $@

$(MODULE): $(OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -o $@ $(OBJ) $(DEPS_LIBS)

# All specs (.busted sets the paths); the last line is "N passed, N failed".
test: all
	$(BUSTED)

# All specs under valgrind: no definite leak and no invalid access, or it fails.
memcheck: all
	$(VALGRIND) $(BUSTED)

BENCH_WALK := $(BUILD)/bench_walk.so
$(BENCH_WALK): bench/walk.c
	@mkdir -p $(dir $@)
	$(CC) $(WARNINGS) $(CFLAGS) -fPIC -shared $(DEPS_CFLAGS) $(LDFLAGS) -o $@ $<

bench: all $(BENCH_WALK)
	$(LUA) bench/sign.lua

# The local JustClick stand-in, by hand: make sandbox PORT=8080 (Ctrl-C stops it).
PORT ?= 8080
sandbox:
	php sandbox/server.php $(PORT)

lint:
	luacheck lua spec bench
	cppcheck --enable=warning,style,performance,portability --std=c11 --inline-suppr \
	  --suppress=toomanyconfigs --error-exitcode=1 -q $(DEPS_CFLAGS) src

install: all
	install -d $(DESTDIR)$(INST_LUADIR) $(DESTDIR)$(INST_LIBDIR)/justclick
	install -m 644 lua/justclick.lua $(DESTDIR)$(INST_LUADIR)/justclick.lua
	install -m 755 $(MODULE) $(DESTDIR)$(INST_LIBDIR)/justclick/core.so

uninstall:
	rm -f $(DESTDIR)$(INST_LUADIR)/justclick.lua $(DESTDIR)$(INST_LIBDIR)/justclick/core.so
	-rmdir $(DESTDIR)$(INST_LIBDIR)/justclick

clean:
	rm -rf $(BUILD)
