/*
 * justclick: Lua 5.4 with justclick built in, for order scripts run by hand or from cron.
 *
 *   justclick [options] [script [args]]
 *   justclick [options] import [import options] FILE   (justclick.import's main)
 *
 * It behaves like `lua` (arg, ..., -e, -l, -, --), and is configured like the module: from
 * JUSTCLICK_USER, JUSTCLICK_SECRET and JUSTCLICK_API_URL, or --user, --api-url and
 * --secret-file. The secret never comes from the command line, where `ps` shows it.
 * Exit status: 0, 1 for a script error, 2 for a usage error, n for os.exit(n), 130 for Ctrl-C
 * (import has its own for rejected and unknown rows: lua/justclick/import.lua's EXIT).
 * The Lua state is always closed, so connections are released.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lualib.h>
#include "../modules/preload.h"
#include "../pure/limits.h"
#include "../pure/secretfile.h"
#include "../pure/sys.h"
#include "../pure/version.h"

enum { EXIT_SCRIPT = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 130 };

static const char usage_text[] =
    "usage: justclick [options] [script [args]]\n"
    "       justclick [options] import [--jobs N] [--grace S] [--limit-wait S] [--settle LINE=BILL_ID]\n"
    "                                  [--resend LINE] FILE\n"
    "       justclick [options] serve [--listen HOST:PORT] [--inbox PATH] [--attempts N] [--no-confirm]\n"
    "                                 [--trust-proxy ADDR]... SCRIPT\n"
    "       justclick events --inbox PATH [--state STATE] [--json] | --trim DAYS\n"
    "       justclick [options] catch-up [--inbox PATH] [--days N] [--dry-run] SCRIPT\n"
    "Runs a Lua 5.4 script with justclick built in, as lua does, imports a file of orders, or\n"
    "receives payment notifications.\n"
    "  -e CODE             run CODE\n"
    "  -l MOD              require MOD into the global MOD (-l g=MOD: into g)\n"
    "  -                   read the script from standard input\n"
    "  --                  stop handling options (-- import runs a script named import)\n"
    "  --user NAME         the account (overrides JUSTCLICK_USER)\n"
    "  --api-url URL       the API (overrides JUSTCLICK_API_URL)\n"
    "  --secret-file PATH  read the secret from PATH, mode 600 (else JUSTCLICK_SECRET)\n"
    "  --dry-run           send nothing: print each call's method, URL and body\n"
    "  --verbose           a line on stderr for each call; a command's failure with a traceback\n"
    "  -v, --version       print the version\n"
    "  -h, --help          print this help\n"
    "import FILE: create each order of FILE (CSV with a header row, or .jsonl) exactly once\n"
    "  --jobs N               orders under way at once, 1 to " JC_STRING(JC_MAX_JOBS) " (default 4)\n"
    "  --grace S              seconds to let the server finish a request that got no\n"
    "                         reply, before GetBills is trusted to say it has no order (default 60)\n"
    "  --limit-wait S         seconds to wait out the API's request limit (code 8) while it lets\n"
    "                         no request through, before the import stops (default 300)\n"
    "  --settle LINE=BILL_ID  settle a row whose outcome is unknown: its order is BILL_ID\n"
    "  --resend LINE          settle a row whose outcome is unknown: it has no order; send it\n"
    "  exit status: 0 done; 4 a row unknown; 1 a row failed, or stopped; 3 a row rejected\n"
    "  (the first of 4, 1, 3 wins); 2 usage; 130 Ctrl-C (justclick import --help for more)\n"
    "serve SCRIPT: receive JustClick's payment notifications, verify and store each before the\n"
    "reply, confirm each through the API (getOrderDetails), and run the handler SCRIPT returns on\n"
    "it (justclick serve --help for the rest)\n"
    "  --listen HOST:PORT     where to listen (default 127.0.0.1:8787)\n"
    "  --inbox PATH           the SQLite store of every acknowledged event (default justclick-inbox)\n"
    "  --attempts N           failed tries of an event before it is parked (default 20)\n"
    "  --no-confirm           hand events to the handler unconfirmed (warned at start)\n"
    "  --trust-proxy ADDR     a proxy's IP address (repeatable): the log names the client of its\n"
    "                         X-Forwarded-For; from other addresses the header is ignored\n"
    "  --parked, --replay KEY list the parked events; handle a stored event again\n"
    "events: list the stored events, or trim the handled ones (justclick events --help)\n"
    "catch-up SCRIPT: hand over the payments of the last days whose notification never came, read\n"
    "from the API (justclick catch-up --help)\n";

typedef struct {
  int script;        /* argv index of the script (or of "-"), or 0 */
  int run_stdin;     /* the script is "-": standard input */
  const char *command; /* the script is a command (commands[]), not a file (never after "--") */
  const char *module;  /* the command's module, justclick.<module> */
  int *chunks;       /* argv indexes of the -e and -l options, in their order */
  int nchunks;
  int version, help;
  const char *user, *api_url, *secret_file;
  int dry_run, verbose;
} options;

static lua_State *running; /* the state a SIGINT interrupts */
/* A built-in command (import, serve) runs: an interrupt in it is its end, not a script's error,
   and a traceback would name the command's insides, which its user cannot act on. */
static int running_command;
/* --verbose: a command's interrupt shows where it was, as a script's error does. */
static int verbose;
/* The command named on the command line ("import", "serve"), or NULL: what say() prefixes. */
static const char *command_name;

/* A line on stderr from the host. Under `justclick serve` it is a line of the receiver's log,
   stamped as the others are (ISO-8601 UTC, lua/justclick/serve.lua's say()). */
static void say(const char *text) {
  if (command_name != NULL && strcmp(command_name, "serve") == 0) {
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "justclick serve: %s %s\n", when, text);
  } else {
    fprintf(stderr, "justclick: %s\n", text);
  }
  fflush(stderr);
}

/* ---- Ctrl-C ----
   As in lua.c, SIGINT sets a hook that raises "interrupted" in the running Lua code. Unlike
   lua.c's, the hook stays: a pcall in the script (the importer and user scripts have many)
   would otherwise catch the one error and go on. It fires before every Lua instruction
   (LUA_MASKCOUNT, count 1), so any Lua code that catches the error raises it again at once,
   until the protected call returns to the host, which removes it. No call or return hook: those
   fire in C functions too, and would raise inside the message handler. */

static void on_interrupt_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_pushliteral(L, "interrupted"); /* no position: it would name wherever the hook fired */
  lua_error(L);
}

static void on_sigint(int sig) {
  (void)sig;
  jc_interrupted = 1; /* stops a transfer in flight */
  lua_sethook(running, on_interrupt_hook, LUA_MASKCOUNT, 1);
}

/* SIGINT's action: on_sigint or SIG_DFL. Without SA_RESTART, so that a blocking call (a read,
   a sleep, a poll) returns EINTR and the hook gets to run; SA_RESETHAND, so that a second
   Ctrl-C ends the process even when the first cannot stop it. */
static void catch_sigint(void (*handler)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = handler == SIG_DFL ? 0 : SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
}

/* The exit status for a script that failed. */
static int failure_status(void) {
  return jc_interrupted ? EXIT_INTERRUPTED : EXIT_SCRIPT;
}

/* ---- errors ---- */

static int message_handler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) { /* an error object: its __tostring, or its type */
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  if (running_command && jc_interrupted && !verbose) return 1; /* "interrupted", as lua.c says it, alone */
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    say(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  return status;
}

/* lua_pcall with the message handler, catching SIGINT while it runs (as lua.c does). Once
   interrupted, it fails even when the script got past its last Lua instruction, and it leaves
   no hook behind: the state's finalizers run normally when it is closed. */
static int docall(lua_State *L, int nargs, int nresults) {
  int base = lua_gettop(L) - nargs, status;
  lua_pushcfunction(L, message_handler);
  lua_insert(L, base);
  running = L;
  catch_sigint(on_sigint);
  status = lua_pcall(L, nargs, nresults, base);
  catch_sigint(SIG_DFL); /* from here on on_sigint cannot set the hook again */
  if (jc_interrupted) {
    lua_sethook(L, NULL, 0, 0);
    if (status == LUA_OK) {
      lua_pop(L, nresults);
      lua_pushliteral(L, "interrupted");
      status = LUA_ERRRUN;
    }
  }
  lua_remove(L, base);
  return status;
}

/* ---- options ---- */

static int usage_error(const char *fmt, const char *what) {
  fprintf(stderr, "justclick: ");
  fprintf(stderr, fmt, what);
  fprintf(stderr, "\nTry 'justclick --help'.\n");
  return -1;
}

/* The value of a long option: "--name=value" or "--name value". NULL when it is not `name`. */
static const char *long_value(char **argv, int *i, const char *name, int *missing) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0) return NULL;
  if (argv[*i][n] == '=') return argv[*i] + n + 1;
  if (argv[*i][n] != '\0') return NULL;
  if (argv[*i + 1] == NULL) {
    *missing = 1;
    return NULL;
  }
  return argv[++*i];
}

/* The built-in commands and the module (justclick.NAME) whose main runs each. */
static const struct {
  const char *command, *module;
} commands[] = {{"import", "import"}, {"serve", "serve"}, {"events", "events"}, {"catch-up", "catchup"}};

/* Reads the options before the script; returns 0, or -1 after printing a usage error. The -e
   and -l options are recorded in o->chunks for run_chunks, which runs them in their order.
   This is the one place that knows which options take a value. */
static int parse_options(char **argv, options *o) {
  int i;
  for (i = 1; argv[i] != NULL; i++) {
    const char *a = argv[i], *v;
    int missing = 0;
    if (a[0] != '-') {
      for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++) {
        if (strcmp(a, commands[c].command) == 0) o->command = a, o->module = commands[c].module;
      }
      break;
    }
    if (strcmp(a, "-") == 0) {
      o->run_stdin = 1;
      break; /* "-" is the script */
    }
    if (strcmp(a, "--") == 0) { /* what follows is a script, even one named "import" */
      i++;
      break;
    }
    if (strcmp(a, "-e") == 0 || strcmp(a, "-l") == 0) {
      o->chunks[o->nchunks++] = i;
      if (argv[++i] == NULL) return usage_error("'%s' needs an argument", a);
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
      o->version = 1;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      o->help = 1;
    } else if (strcmp(a, "--dry-run") == 0) {
      o->dry_run = 1;
    } else if (strcmp(a, "--verbose") == 0) {
      o->verbose = 1;
    } else if ((v = long_value(argv, &i, "--user", &missing)) != NULL) {
      o->user = v;
    } else if ((v = long_value(argv, &i, "--api-url", &missing)) != NULL) {
      o->api_url = v;
    } else if ((v = long_value(argv, &i, "--secret-file", &missing)) != NULL) {
      o->secret_file = v;
    } else if (missing) {
      return usage_error("'%s' needs an argument", a);
    } else if (strncmp(a, "--secret", 8) == 0) {
      /* The argument is not repeated: it may be the secret itself. */
      return usage_error("%s: the secret is never taken from the command line, where others can "
                         "read it; use JUSTCLICK_SECRET or --secret-file", "--secret");
    } else {
      return usage_error("unknown option '%s'", a);
    }
  }
  o->script = argv[i] != NULL ? i : 0;
  return 0;
}

/* ---- setting up the state ---- */

/* os.exit closes the state, whatever its second argument, so connections are released. */
static int exit_closing(lua_State *L) {
  int status = EXIT_SUCCESS;
  if (lua_isboolean(L, 1)) {
    status = lua_toboolean(L, 1) ? EXIT_SUCCESS : EXIT_FAILURE;
  } else {
    status = (int)luaL_optinteger(L, 1, EXIT_SUCCESS);
  }
  /* No handler may set a hook on the state once it is freed; a Ctrl-C now ends the process. */
  catch_sigint(SIG_DFL);
  if (jc_interrupted) { /* Ctrl-C after the script's last Lua instruction: it wins, as in docall */
    lua_sethook(L, NULL, 0, 0);
    say("interrupted");
    status = EXIT_INTERRUPTED;
  }
  lua_close(L);
  exit(status);
}

/* The most a secret file may hold, line end aside. A secret is a few dozen bytes: the limit
   only stops --secret-file /dev/zero (or a wrong file) from filling the memory. */
/* justclick.set_defaults{...} from the command line: called with user, api_url, secret (each a
   string or nil), dry_run and verbose. */
static int set_defaults(lua_State *L) {
  static const char *const names[] = {"user", "api_url", "secret", "dry_run", "verbose"};
  lua_getglobal(L, "require");
  lua_pushliteral(L, "justclick");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "set_defaults");
  lua_createtable(L, 0, 5);
  for (int i = 0; i < 5; i++) {
    if (lua_isnil(L, i + 1) || (lua_isboolean(L, i + 1) && !lua_toboolean(L, i + 1))) continue;
    lua_pushvalue(L, i + 1);
    lua_setfield(L, -2, names[i]);
  }
  lua_call(L, 1, 0);
  return 0;
}

/* Applies the command line's configuration. Returns the exit status to end with, or -1. With
   none given, justclick is left for the script to load (and the environment to configure):
   loading it starts libcurl and OpenSSL, which a script that never calls the API need not pay. */
static int apply_configuration(lua_State *L, const options *o) {
  char secret[JC_SECRET_BUF];
  size_t secret_len = 0;
  if (!o->user && !o->api_url && !o->secret_file && !o->dry_run && !o->verbose) return -1;
  if (o->secret_file) {
    jc_secret_outcome outcome;
    char text[JC_SECRET_TEXT];
    int failed = jc_read_secret_file(o->secret_file, secret, &secret_len, &outcome) != 0;
    jc_secret_text(&outcome, o->secret_file, text, sizeof text);
    if (text[0]) say(text);
    if (failed) {
      jc_wipe(secret, sizeof secret);
      return EXIT_USAGE;
    }
  }
  lua_pushcfunction(L, set_defaults);
  lua_pushstring(L, o->user);
  lua_pushstring(L, o->api_url);
  if (o->secret_file) lua_pushlstring(L, secret, secret_len);
  else lua_pushnil(L);
  jc_wipe(secret, sizeof secret);
  lua_pushboolean(L, o->dry_run);
  lua_pushboolean(L, o->verbose);
  return report(L, docall(L, 5, 0)) == LUA_OK ? -1 : failure_status();
}

/* The global `arg`, as lua builds it: the script at 0, its arguments from 1, the rest below. */
static void create_arg(lua_State *L, char **argv, int argc, int script) {
  int base = script ? script : argc;
  lua_createtable(L, argc - base, base + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - base);
  }
  lua_setglobal(L, "arg");
}

/* Runs the -e and -l options in their order. */
static int run_chunks(lua_State *L, char **argv, const options *o) {
  for (int k = 0; k < o->nchunks; k++) {
    int status = LUA_OK, i = o->chunks[k];
    if (strcmp(argv[i], "-e") == 0) {
      const char *code = argv[i + 1];
      status = luaL_loadbuffer(L, code, strlen(code), "=(command line)");
      if (status == LUA_OK) status = docall(L, 0, 0);
    } else {
      const char *mod = argv[i + 1], *eq = strchr(mod, '=');
      lua_getglobal(L, "require");
      lua_pushstring(L, eq ? eq + 1 : mod);
      status = docall(L, 1, 1);
      if (status == LUA_OK) {
        if (eq) lua_pushlstring(L, mod, (size_t)(eq - mod));
        else lua_pushstring(L, mod);
        lua_insert(L, -2);
        lua_setglobal(L, lua_tostring(L, -2));
        lua_pop(L, 1);
      }
    }
    if (report(L, status) != LUA_OK) return status;
  }
  return LUA_OK;
}

/* Ctrl-C ended the command: its module's `interrupted` (if it has one) ends the live line and
   prints what was done, before "justclick: interrupted". docall has removed the hook and put
   SIGINT back to its default, so this runs to its end, and a second Ctrl-C still ends the
   process. A failure here is said in a line: the interrupt stays the exit status. */
static void command_interrupted(lua_State *L, const char *command) {
  int top = lua_gettop(L);
  lua_getglobal(L, "require");
  lua_pushfstring(L, "justclick.%s", command);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_getfield(L, -1, "interrupted") == LUA_TFUNCTION &&
      lua_pcall(L, 0, 0, 0) != LUA_OK) {
    say(lua_isstring(L, -1) ? lua_tostring(L, -1) : "(an error object)");
  }
  lua_settop(L, top);
}

/* Runs the script at argv[o->script] (standard input for "-"; for the commands import and serve,
   the main of justclick.import or justclick.serve, ending with its status) with the arguments
   after it. */
static int run_script(lua_State *L, char **argv, int argc, const options *o) {
  int script = o->script;
  int status;
  if (o->command && (strcmp(o->command, "serve") == 0 || strcmp(o->command, "catch-up") == 0)) {
    /* A receiver (and catch-up, which runs its handlers) outlives what its handlers touch: a mailer that quit (SIGPIPE) or a full file
       size limit (SIGXFSZ) is an error for that handler or that write, never the process's end. */
    signal(SIGPIPE, SIG_IGN);
  }
  if (o->command) signal(SIGXFSZ, SIG_IGN); /* import too: a journal past the limit is an io error, EFBIG */
  /* `justclick import FILE 2>&1 | head -1`: a reader that has gone is no reason to stop creating
     orders; a write to it fails (EPIPE), which progress and summary ignore, and the import ends
     with its own status. It runs no one's script, so no child inherits this. */
  if (o->command != NULL && strcmp(o->command, "import") == 0) signal(SIGPIPE, SIG_IGN);
  running_command = o->command != NULL;
  verbose = o->verbose;
  if (o->command) {
    const char *name = lua_pushfstring(L, "=%s", o->command);
    const char *code = lua_pushfstring(L, "os.exit(require('justclick.%s').main(...))", o->module);
    status = luaL_loadbuffer(L, code, strlen(code), name);
    lua_rotate(L, -3, 1); /* the chunk (or the message) below the two strings, which go */
    lua_pop(L, 2);
  } else {
    status = luaL_loadfile(L, o->run_stdin ? NULL : argv[script]);
  }
  if (status != LUA_OK) return report(L, status);
  luaL_checkstack(L, argc - script, "too many arguments to the script");
  for (int i = script + 1; i < argc; i++) lua_pushstring(L, argv[i]);
  status = docall(L, argc - script - 1, 0);
  if (status != LUA_OK && jc_interrupted && o->command) command_interrupted(L, o->module);
  return report(L, status);
}

/* Everything that touches Lua runs in here, under lua_pcall. Returns the exit status. */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = lua_touserdata(L, 2);
  options o;
  int status;

  memset(&o, 0, sizeof o);
  o.chunks = lua_newuserdatauv(L, (size_t)argc * sizeof *o.chunks, 0);
  if (parse_options(argv, &o) < 0) {
    lua_pushinteger(L, EXIT_USAGE);
    return 1;
  }
  command_name = o.command;
  if (o.help) {
    fputs(usage_text, stdout);
    lua_pushinteger(L, EXIT_SUCCESS);
    return 1;
  }
  if (o.version) printf("justclick-lua %s (%s)\n", JC_VERSION, LUA_RELEASE);
  if (o.script == 0 && o.nchunks == 0 && !o.version) {
    usage_error("%s", "no script to run");
    lua_pushinteger(L, EXIT_USAGE);
    return 1;
  }

  luaL_openlibs(L);
  lua_gc(L, LUA_GCGEN, 0, 0);
  jc_preload(L);
  lua_getglobal(L, "os");
  lua_pushcfunction(L, exit_closing);
  lua_setfield(L, -2, "exit");
  lua_pop(L, 1);

  create_arg(L, argv, argc, o.script);
  if ((status = apply_configuration(L, &o)) >= 0) {
    lua_pushinteger(L, status);
    return 1;
  }
  status = run_chunks(L, argv, &o);
  if (status == LUA_OK && o.script) status = run_script(L, argv, argc, &o);
  lua_pushinteger(L, status == LUA_OK ? EXIT_SUCCESS : failure_status());
  return 1;
}

/* A standard descriptor that is closed (`justclick import FILE 2>&-`, a cron line or a service
   manager that closes it) is opened on /dev/null: else the first file opened takes its number,
   the journal or the inbox, and every line written to stdout or stderr lands in it. */
static void open_standard_fds(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    int null = open("/dev/null", O_RDWR);
    if (null == -1) _exit(EXIT_SCRIPT); /* no /dev/null: nothing safe to write to */
    if (null != fd) { /* cannot be: the lowest free number is fd */
      close(null);
      _exit(EXIT_SCRIPT);
    }
  }
}

int main(int argc, char **argv) {
  int code = EXIT_SCRIPT;
  lua_State *L;
  open_standard_fds();
  L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "justclick: cannot create a Lua state: not enough memory\n");
    return EXIT_SCRIPT;
  }
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  if (lua_pcall(L, 2, 1, 0) == LUA_OK) {
    code = (int)lua_tointeger(L, -1);
  } else {
    fprintf(stderr, "justclick: %s\n", lua_tostring(L, -1));
  }
  lua_close(L);
  return code;
}
