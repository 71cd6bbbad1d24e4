/* Subcommands on top of a session: run, info, reset, repl. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "commands.h"
#include "err.h"
#include "mpu_proto.h"
#include "mpy.h"
#include "session.h"

int mpu_cmd_start(struct mpu_cmd *c, struct mpu_session *s, int soft_reset) {
    struct mpu_sink sink = mpu_out_sink(c->out);
    int r = mpu_session_open(s, c->port, &c->link, &sink, &c->eng, c->detail, sizeof(c->detail));
    if (r != MPU_OK) {
        return r;
    }
    snprintf(c->port_used, sizeof(c->port_used), "%s", s->port);
    s->forward_stdin = c->forward_stdin;
    mpu_session_catch_sigint();
    r = mpu_engine_enter(&s->eng, soft_reset);
    if (r != MPU_OK) {
        snprintf(c->detail, sizeof(c->detail), "%s%s%s", s->eng.detail,
            r == MPU_ERR_LINK && mpu_link_last_error(s->link)[0] ? ": " : "",
            r == MPU_ERR_LINK ? mpu_link_last_error(s->link) : "");
        mpu_session_close(s);
    }
    return r;
}

int mpu_cmd_finish(struct mpu_cmd *c, struct mpu_session *s, int r) {
    if (r != MPU_OK && r != MPU_ERR_EXCEPTION && !c->detail[0]) {
        snprintf(c->detail, sizeof(c->detail), "%s%s%s", s->eng.detail,
            r == MPU_ERR_LINK && mpu_link_last_error(s->link)[0] ? ": " : "",
            r == MPU_ERR_LINK ? mpu_link_last_error(s->link) : "");
    }
    mpu_out_flush(c->out);
    mpu_session_close(s);
    return r;
}

const char *mpu_mode_name(enum mpu_mode m) {
    static const char *names[] = { "none", "raw-paste", "raw", "stream", "mpy-stream", "raw-loader",
        "stream-checked" };
    return names[m];
}

int mpu_cmd_run_code(struct mpu_cmd *c, const uint8_t *code, size_t len) {
    struct mpu_session s;
    int64_t t0 = mpu_now_ms();
    c->total = len;
    int r = mpu_cmd_start(c, &s, c->soft_reset);
    if (r != MPU_OK) {
        return r;
    }
    int stream = 0, checked = 0;
    if (c->use_ext) {
        uint8_t caps[16];
        int n = mpu_engine_caps(&s.eng, caps, sizeof(caps));
        if (n < 0) {
            return mpu_cmd_finish(c, &s, n);
        }
        stream = n > 1 && (caps[MPU_PROTO_INFO_OFF_FLAGS] & MPU_PROTO_CAP_EXEC_STREAM);
        checked = n > 1 && (caps[MPU_PROTO_INFO_OFF_FLAGS] & MPU_PROTO_CAP_EXEC_CHECKED);
    }
    mpu_progress_start(&c->out->progress, len);
    /* Checked blocks when the board has them: a damaged byte is sent again, never run. */
    if (checked) {
        r = mpu_engine_exec_checked(&s.eng, code, len);
    } else if (stream) {
        r = mpu_engine_exec_stream(&s.eng, code, len);
    } else {
        r = mpu_engine_exec(&s.eng, code, len);
    }
    c->mode = mpu_mode_name(s.eng.mode);
    c->bytes_sent = s.eng.sent;
    c->naks = s.eng.resent;
    c->elapsed_ms = mpu_now_ms() - t0;
    return mpu_cmd_finish(c, &s, r);
}

static const char INFO_CODE[] =
    "def _mpu_info():\n"
    " import sys\n"
    " i=sys.implementation\n"
    " print('version',sys.version)\n"
    " print('impl',i.name,'.'.join(str(x) for x in i.version[:3]))\n"
    " print('machine',getattr(i,'_machine',''))\n"
    " print('platform',sys.platform)\n"
    " print('mpy',getattr(i,'_mpy',0))\n"
    " m=sys.maxsize;b=0\n"
    " while m:\n"
    "  m>>=1;b+=1\n"
    " print('intbits',b)\n"
    " try:\n"
    "  import gc;gc.collect();print('heap',gc.mem_free(),gc.mem_alloc())\n"
    " except Exception:\n"
    "  print('heap',-1,-1)\n"
    " try:\n"
    "  import os;s=os.statvfs('/');print('fs',s[0]*s[2],s[0]*s[3])\n"
    " except Exception:\n"
    "  print('fs',-1,-1)\n"
    " print('stdinbuf',int(hasattr(sys.stdin,'buffer')))\n"
    "_mpu_info()\n"
    "del _mpu_info\n";

static void parse_info(const char *text, struct mpu_board_info *in) {
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[400];
        snprintf(line, sizeof(line), "%.*s", (int)n, p);
        char *sp = strchr(line, ' ');
        const char *v = sp ? sp + 1 : "";
        if (sp) {
            *sp = 0;
        }
        if (!strcmp(line, "version")) {
            snprintf(in->version, sizeof(in->version), "%s", v);
        } else if (!strcmp(line, "impl")) {
            snprintf(in->impl, sizeof(in->impl), "%s", v);
        } else if (!strcmp(line, "machine")) {
            snprintf(in->machine, sizeof(in->machine), "%s", v);
        } else if (!strcmp(line, "platform")) {
            snprintf(in->platform, sizeof(in->platform), "%s", v);
        } else if (!strcmp(line, "mpy")) {
            in->mpy = atoi(v);
        } else if (!strcmp(line, "intbits")) {
            in->small_int_bits = atoi(v);
        } else if (!strcmp(line, "heap")) {
            sscanf(v, "%ld %ld", &in->heap_free, &in->heap_used);
        } else if (!strcmp(line, "fs")) {
            sscanf(v, "%lld %lld", &in->fs_size, &in->fs_free);
        } else if (!strcmp(line, "stdinbuf")) {
            in->stdin_buffer = atoi(v);
        }
        p = nl ? nl + 1 : NULL;
    }
}

/* Facts about a board in the raw REPL; program output is captured. */
int mpu_board_facts(struct mpu_cmd *c, struct mpu_engine *e, struct mpu_board_info *info) {
    memset(info, 0, sizeof(*info));
    info->fs_size = info->fs_free = -1;
    int n = mpu_engine_caps(e, info->caps, sizeof(info->caps));
    if (n < 0) {
        return n;
    }
    info->caps_known = n > 0;
    int was = c->out->capture;
    c->out->capture = 1;
    c->out->cap_len = 0;
    int r = mpu_engine_exec(e, (const uint8_t *)INFO_CODE, sizeof(INFO_CODE) - 1);
    c->out->capture = was;
    if (r == MPU_ERR_EXCEPTION) {
        snprintf(c->detail, sizeof(c->detail), "the board failed to describe itself");
        return MPU_ERR_PROTO;
    }
    if (r == MPU_OK) {
        parse_info(c->out->cap ? c->out->cap : "", info);
    }
    return r;
}

int mpu_cmd_info(struct mpu_cmd *c, struct mpu_board_info *info) {
    struct mpu_session s;
    int r = mpu_cmd_start(c, &s, 0);
    if (r != MPU_OK) {
        return r;
    }
    r = mpu_board_facts(c, &s.eng, info);
    return mpu_cmd_finish(c, &s, r);
}

int mpu_cmd_reset(struct mpu_cmd *c, int hard) {
    struct mpu_session s;
    int r = mpu_cmd_start(c, &s, 0);
    if (r != MPU_OK) {
        return r;
    }
    if (!hard) {
        r = mpu_engine_soft_reset(&s.eng);
        return mpu_cmd_finish(c, &s, r);
    }
    static const char RESET[] = "import machine\nmachine.reset()\n";
    s.eng.no_follow = 1;
    r = mpu_engine_exec(&s.eng, (const uint8_t *)RESET, sizeof(RESET) - 1);
    s.eng.no_follow = 0;
    s.eng.in_raw = 0; /* the board is gone or rebooting: don't talk to it */
    if (r == MPU_OK) {
        /* Wait (2 s at most) for the board to go: its link closes, or it prints a banner. */
        uint8_t buf[256];
        int64_t end = mpu_now_ms() + 2000;
        int quiet = (int)(end - mpu_now_ms());
        while (quiet > 0) {
            int n = mpu_link_read(s.link, buf, sizeof(buf), quiet);
            if (n <= 0) {
                break;
            }
            /* It talks (its boot banner): done once it has been quiet for 300 ms. */
            quiet = (int)(end - mpu_now_ms()) < 300 ? (int)(end - mpu_now_ms()) : 300;
        }
    }
    return mpu_cmd_finish(c, &s, r);
}

static struct termios saved_tty;
static int tty_raw;

static void restore_tty(void) {
    if (tty_raw) {
        tcsetattr(0, TCSAFLUSH, &saved_tty);
        tty_raw = 0;
    }
}

int mpu_cmd_repl(struct mpu_cmd *c, int quiet) {
    struct mpu_session s;
    struct mpu_sink sink = mpu_out_sink(c->out);
    int r = mpu_session_open(&s, c->port, &c->link, &sink, &c->eng, c->detail, sizeof(c->detail));
    if (r != MPU_OK) {
        return r;
    }
    snprintf(c->port_used, sizeof(c->port_used), "%s", s.port);
    if (isatty(0) && tcgetattr(0, &saved_tty) == 0) {
        struct termios t = saved_tty;
        cfmakeraw(&t);
        tcsetattr(0, TCSAFLUSH, &t);
        tty_raw = 1;
        atexit(restore_tty);
    }
    if (!quiet) {
        fprintf(stderr, "Connected to %s; Ctrl-] leaves.%s", s.port, tty_raw ? "\r\n" : "\n");
    }
    /* Ctrl-B: out of a raw REPL left behind, and the banner and a prompt either way. */
    r = mpu_link_write(s.link, (const uint8_t *)"\x02", 1);
    if (r < 0) {
        snprintf(c->detail, sizeof(c->detail), "%s", mpu_link_last_error(s.link));
        restore_tty();
        mpu_session_close(&s);
        return r;
    }
    int stdin_open = 1;
    int64_t linger_end = -1;
    r = MPU_OK;
    for (;;) {
        struct pollfd p[2] = { { mpu_link_fd(s.link), POLLIN, 0 }, { 0, POLLIN, 0 } };
        int timeout = -1;
        if (!stdin_open) {
            /* Input ended (a pipe): show what the board still says for a moment. */
            timeout = (int)(linger_end - mpu_now_ms());
            if (timeout <= 0) {
                break;
            }
        }
        int pr = poll(p, stdin_open ? 2 : 1, timeout);
        if (pr < 0 && errno != EINTR) {
            r = MPU_ERR_LINK;
            break;
        }
        if (pr <= 0) {
            continue;
        }
        if (p[0].revents) {
            uint8_t buf[4096];
            int n = mpu_link_read(s.link, buf, sizeof(buf), 0);
            if (n < 0) {
                snprintf(c->detail, sizeof(c->detail), "%s", mpu_link_last_error(s.link));
                r = n;
                break;
            }
            if (n > 0) {
                fwrite(buf, 1, (size_t)n, stdout);
                fflush(stdout);
                if (!stdin_open) {
                    linger_end = mpu_now_ms() + 500;
                }
            }
        }
        if (stdin_open && (p[1].revents & (POLLIN | POLLHUP))) {
            uint8_t buf[1024];
            ssize_t n = read(0, buf, sizeof(buf));
            if (n <= 0) {
                stdin_open = 0;
                linger_end = mpu_now_ms() + 500;
                continue;
            }
            uint8_t *esc = memchr(buf, 0x1d, (size_t)n); /* Ctrl-] */
            size_t k = esc ? (size_t)(esc - buf) : (size_t)n;
            if (k && (r = mpu_link_write(s.link, buf, k)) < 0) {
                snprintf(c->detail, sizeof(c->detail), "%s", mpu_link_last_error(s.link));
                break;
            }
            if (esc) {
                break;
            }
        }
    }
    restore_tty();
    if (!quiet) {
        fprintf(stderr, "\nLeft the REPL.\n");
    }
    s.eng.in_raw = 0;
    mpu_session_close(&s);
    return r;
}

/* Stock firmware: write the .mpy to a file on the board, import it, remove it.
 * With sys.stdin.buffer the bytes go raw, \x06-paced chunks; else as repr. */
static const char MPY_NAME[] = "_mpu_run";
#define FEED_CHUNK 240

static int mpy_via_file(struct mpu_cmd *c, struct mpu_session *s, const struct mpu_board_info *in,
    const uint8_t *mpy, size_t len) {
    char code[1024];
    int r;
    /* Can it write a file at all (a VFS root with nothing mounted says ENODEV)? */
    snprintf(code, sizeof(code),
        "try:\n open('%s.mpy','wb').close()\nexcept OSError as e:\n print('nofs',e)\n", MPY_NAME);
    c->out->capture = 1;
    c->out->cap_len = 0;
    r = mpu_engine_exec(&s->eng, (const uint8_t *)code, strlen(code));
    c->out->capture = 0;
    if (r == MPU_OK && c->out->cap && strncmp(c->out->cap, "nofs", 4) == 0) {
        c->out->cap[strcspn(c->out->cap, "\r\n")] = 0;
        snprintf(c->detail, sizeof(c->detail),
            "the board cannot write a file for the .mpy (%s) and has no streamed .mpy extension",
            c->out->cap + 5);
        return MPU_ERR_SUPP;
    }
    if (in->fs_size < 0 || r != MPU_OK) {
        snprintf(c->detail, sizeof(c->detail),
            "the board has no filesystem for the .mpy and no streamed .mpy extension");
        return r != MPU_OK ? r : MPU_ERR_SUPP;
    }
    if (in->stdin_buffer) {
        snprintf(code, sizeof(code),
            "def _mpu_w():\n"
            " import sys\n"
            " try:\n"
            "  import micropython;micropython.kbd_intr(-1)\n"
            " except Exception:\n"
            "  pass\n"
            " f=open('%s.mpy','wb');n=%zu;r=sys.stdin.buffer.read;w=sys.stdout.write\n"
            " try:\n"
            "  while n:\n"
            "   k=min(n,%d);w('\\x06');b=r(k)\n"
            "   while len(b)<k:\n"
            "    b+=r(k-len(b))\n"
            "   f.write(b);n-=k\n"
            " finally:\n"
            "  f.close()\n"
            "  try:\n"
            "   micropython.kbd_intr(3)\n"
            "  except Exception:\n"
            "   pass\n"
            "_mpu_w()\ndel _mpu_w\n",
            MPY_NAME, len, FEED_CHUNK);
        struct mpu_feed feed = { mpy, len, FEED_CHUNK };
        r = mpu_engine_exec_feed(&s->eng, (const uint8_t *)code, strlen(code), &feed);
        if (r == MPU_OK && s->eng.fed != len) {
            snprintf(c->detail, sizeof(c->detail), "the board took %zu of %zu .mpy bytes", s->eng.fed, len);
            return MPU_ERR_PROTO;
        }
    } else {
        snprintf(code, sizeof(code), "_mpu_f=open('%s.mpy','wb')\n", MPY_NAME);
        r = mpu_engine_exec(&s->eng, (const uint8_t *)code, strlen(code));
        for (size_t off = 0; r == MPU_OK && off < len; off += 1024) {
            char chunk[1024 * 4 + 64];
            size_t o = (size_t)snprintf(chunk, sizeof(chunk), "_mpu_f.write(b'");
            for (size_t i = off; i < len && i < off + 1024; i++) {
                o += (size_t)snprintf(chunk + o, sizeof(chunk) - o, "\\x%02x", mpy[i]);
            }
            o += (size_t)snprintf(chunk + o, sizeof(chunk) - o, "')\n");
            r = mpu_engine_exec(&s->eng, (const uint8_t *)chunk, o);
            mpu_progress_update(&c->out->progress, off + 1024 < len ? off + 1024 : len, len);
        }
        if (r == MPU_OK) {
            static const char CLOSE[] = "_mpu_f.close()\ndel _mpu_f\n";
            r = mpu_engine_exec(&s->eng, (const uint8_t *)CLOSE, sizeof(CLOSE) - 1);
        }
    }
    if (r != MPU_OK) {
        return r;
    }
    mpu_out_flush(c->out);
    snprintf(code, sizeof(code),
        "try:\n"
        " __import__('%s')\n"
        "finally:\n"
        " import sys\n"
        " try:\n"
        "  import os;os.remove('%s.mpy')\n"
        " except Exception:\n"
        "  pass\n"
        " sys.modules.pop('%s',None)\n",
        MPY_NAME, MPY_NAME, MPY_NAME);
    return mpu_engine_exec(&s->eng, (const uint8_t *)code, strlen(code));
}

int mpu_cmd_run_mpy(struct mpu_cmd *c, const char *path) {
    struct mpu_session s;
    int64_t t0 = mpu_now_ms();
    int r = mpu_cmd_start(c, &s, c->soft_reset);
    if (r != MPU_OK) {
        return r;
    }
    struct mpu_board_info in;
    r = mpu_board_facts(c, &s.eng, &in);
    if (r != MPU_OK) {
        return mpu_cmd_finish(c, &s, r);
    }
    struct mpu_mpy_target t;
    int have_mpy_ext = 0;
    if (in.caps_known && c->use_ext) {
        t.version = in.caps[MPU_PROTO_INFO_OFF_MPY_VERSION];
        t.features = in.caps[MPU_PROTO_INFO_OFF_MPY_FEATURES];
        t.small_int_bits = in.caps[MPU_PROTO_INFO_OFF_MPY_SMALL_INT_BITS];
        have_mpy_ext = (in.caps[MPU_PROTO_INFO_OFF_FLAGS] & MPU_PROTO_CAP_MPY) != 0;
    } else {
        t.version = in.mpy & 0xff;
        t.features = (in.mpy >> 8) & 0xff;
        t.small_int_bits = in.small_int_bits;
    }
    /* Smaller than the board's is safe; mpy-cross defaults to 31. */
    if (t.small_int_bits <= 0 || t.small_int_bits > 31) {
        t.small_int_bits = 31;
    }
    char cross_buf[4200];
    const char *cross = mpu_mpy_cross_path(c->mpy_cross, cross_buf, sizeof(cross_buf));
    uint8_t *mpy = NULL;
    size_t len = 0;
    r = mpu_mpy_compile(cross, &t, path, c->source_name ? c->source_name : path, &mpy, &len,
        c->detail, sizeof(c->detail));
    if (r != MPU_OK) {
        return mpu_cmd_finish(c, &s, r);
    }
    c->total = len;
    mpu_progress_start(&c->out->progress, len);
    if (have_mpy_ext) {
        r = mpu_engine_exec_mpy(&s.eng, mpy, len);
        c->mode = "mpy-stream";
        c->bytes_sent = s.eng.sent;
    } else {
        r = mpy_via_file(c, &s, &in, mpy, len);
        c->mode = "mpy-file";
        c->bytes_sent = s.eng.fed ? s.eng.fed : len;
    }
    free(mpy);
    c->elapsed_ms = mpu_now_ms() - t0;
    return mpu_cmd_finish(c, &s, r);
}
