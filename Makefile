# justclick-lua: build, test, bench and lint.  See README.md.

LUA        ?= lua5.4
PKG_CONFIG ?= pkg-config
BUSTED     ?= $(LUA) /usr/bin/busted
LUAROCKS   ?= luarocks --lua-version=5.4

CC         ?= cc
CFLAGS     ?= -O2 -g
WARNINGS   := -std=c11 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes
DEPS_CFLAGS := $(shell $(PKG_CONFIG) --cflags lua5.4 libcrypto)
# A Lua module takes the Lua API from the program that loads it: link libcrypto only.
DEPS_LIBS   := $(shell $(PKG_CONFIG) --libs libcrypto)

BUILD      := build
MODULE     := $(BUILD)/justclick/core.so
CORE_SRC   := src/core.c src/query.c src/sign.c src/phpfmt.c src/buffer.c
HEADERS    := $(wildcard src/*.h)
OBJ        := $(CORE_SRC:src/%.c=$(BUILD)/obj/%.o)

.PHONY: all test bench lint clean
all: $(MODULE)

$(BUILD)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(WARNINGS) $(CFLAGS) -fPIC $(DEPS_CFLAGS) -c $< -o $@

$(MODULE): $(OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared $(LDFLAGS) -o $@ $(OBJ) $(DEPS_LIBS)

# The specs; spec/support/summary.lua ends the output with "N passed, N failed".
test: all
	$(BUSTED)

bench: all
	$(LUA) bench/sign.lua

lint:
	luacheck lua spec bench

clean:
	rm -rf $(BUILD)
