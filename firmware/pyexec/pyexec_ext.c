/*
 * This file is part of mpupload's streaming pyexec for MicroPython.
 *
 * The MIT License (MIT)
 */

// Negotiated extensions of the raw-paste command (proto/PROTOCOL.md part B):
// capability query, streamed execution, streamed .mpy and file transfer.
// Included by pyexec.c (one translation unit); not compiled on its own.

// Largest block payload of B.2; blocks in flight fill the RX buffer.
#ifndef MICROPY_PYEXEC_BLOCK_MAX
#define MICROPY_PYEXEC_BLOCK_MAX (MICROPY_REPL_STDIN_BUFFER_MAX / 2 - MPU_PROTO_BLK_HEADER_LEN - MPU_PROTO_BLK_TRAILER_LEN)
#endif
#ifndef MICROPY_PYEXEC_BLOCKS_IN_FLIGHT
#define MICROPY_PYEXEC_BLOCKS_IN_FLIGHT (2)
#endif

#define PYEXEC_EXT_MPY (MICROPY_PERSISTENT_CODE_LOAD)

// B.5 file transfer: needs a filesystem and hashlib's SHA-256.
#ifndef MICROPY_PYEXEC_FILE
#define MICROPY_PYEXEC_FILE (MICROPY_VFS && MICROPY_PY_HASHLIB && MICROPY_PY_HASHLIB_SHA256 && MICROPY_PY_BUILTINS_BYTEARRAY)
#endif

static void pyexec_ext_u16(byte *p, size_t v) {
    p[0] = v & 0xff;
    p[1] = (v >> 8) & 0xff;
}

// B.1: one record telling the host what this device serves.
static bool pyexec_checked_available(void);

static void pyexec_ext_info(void) {
    byte r[3 + MPU_PROTO_INFO_LEN] = { 'R', MPU_PROTO_NEG_ACCEPTED, MPU_PROTO_INFO_LEN };
    byte *p = r + 3;
    p[MPU_PROTO_INFO_OFF_VERSION] = MPU_PROTO_VERSION;
    p[MPU_PROTO_INFO_OFF_FLAGS] = MPU_PROTO_CAP_EXEC_STREAM | MPU_PROTO_CAP_BATCHED
        | (PYEXEC_EXT_MPY ? MPU_PROTO_CAP_MPY : 0)
        | (MICROPY_PYEXEC_FILE ? MPU_PROTO_CAP_FILE : 0)
        | (pyexec_checked_available() ? MPU_PROTO_CAP_EXEC_CHECKED : 0);
    pyexec_ext_u16(p + MPU_PROTO_INFO_OFF_WINDOW, MICROPY_REPL_STDIN_BUFFER_MAX / 2);
    pyexec_ext_u16(p + MPU_PROTO_INFO_OFF_BLOCK_MAX, MICROPY_PYEXEC_BLOCK_MAX);
    p[MPU_PROTO_INFO_OFF_BLOCKS_IN_FLIGHT] = MICROPY_PYEXEC_BLOCKS_IN_FLIGHT;
    #if PYEXEC_EXT_MPY
    p[MPU_PROTO_INFO_OFF_MPY_VERSION] = MPY_VERSION;
    p[MPU_PROTO_INFO_OFF_MPY_FEATURES] = MPY_FEATURE_ENCODE_SUB_VERSION(MPY_SUB_VERSION) | MPY_FEATURE_ENCODE_ARCH(MPY_FEATURE_ARCH);
    p[MPU_PROTO_INFO_OFF_MPY_SMALL_INT_BITS] = MP_SMALL_INT_BITS;
    #endif
    pyexec_ext_u16(p + MPU_PROTO_INFO_OFF_BATCH, MICROPY_PYEXEC_BATCH_SIZE);
    mp_hal_stdout_tx_strn((const char *)r, sizeof(r));
}

static void pyexec_ext_report(const char *frame, mp_obj_t exc) {
    mp_hal_stdout_tx_strn(frame, 1);
    mp_obj_print_exception(&mp_plat_print, exc);
    mp_hal_stdout_tx_strn("\x04", 1);
}

// Runs one compiled batch inside an output section (B.3, B.6): \x02, the
// output, then ok_end; an exception: \x04, then err_frame + its text + \x04.
static bool pyexec_ext_run(mp_obj_t fun, const char *ok_end, const char *err_frame) {
    mp_hal_stdout_tx_strn("\x02", 1);
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_hal_set_interrupt_char(CHAR_CTRL_C);
        mp_call_function_0(fun);
        mp_hal_set_interrupt_char(-1);
        mp_handle_pending(true);
        nlr_pop();
        mp_hal_stdout_tx_strn(ok_end, strlen(ok_end));
        return true;
    } else {
        mp_hal_set_interrupt_char(-1);
        mp_handle_pending(false);
        mp_hal_stdout_tx_strn("\x04", 1);
        pyexec_ext_report(err_frame, MP_OBJ_FROM_PTR(nlr.ret_val));
        return false;
    }
}

// B.3: a batch ends with \x04\x06; an exception is \x15 + text + \x04.
static bool pyexec_stream_run(mp_obj_t fun) {
    return pyexec_ext_run(fun, "\x04\x06", "\x15");
}

// B.3: streamed execution.
static void pyexec_ext_stream(void) {
    mp_hal_stdout_tx_strn("R\x01", 2);
    pyexec_in_t in;
    pyexec_in_init(&in, PYEXEC_IN_STREAM);
    pyexec_in_start_window(&in, MICROPY_REPL_STDIN_BUFFER_MAX);
    pyexec_compile_t pc;
    pyexec_compile_init(&pc, &in, false);
    pc.run_each = true;
    mp_obj_t exc = pyexec_compile_all(&pc);
    if (pc.consts != NULL) {
        m_del(char, pc.consts, MICROPY_PYEXEC_CONST_MAX);
        pc.consts = NULL;
    }
    if (exc != MP_OBJ_NULL && exc != mp_const_none) {
        #if MICROPY_ENABLE_GC
        gc_collect();
        #endif
        pyexec_ext_report("\x15", exc);
    }
    pyexec_in_abort(&in);
}

// B.2 block receiver, shared by B.4, B.5 and B.6.

// CRC-32 (MPU_PROTO_CRC32_POLY, reflected) a nibble at a time: a 64-byte
// table, a quarter of the work of the bitwise loop.
static const uint32_t pyexec_crc32_nibble[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
    0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
    0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
    0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

static uint32_t pyexec_crc32(uint32_t crc, const byte *p, size_t n) {
    while (n--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ pyexec_crc32_nibble[crc & 15];
        crc = (crc >> 4) ^ pyexec_crc32_nibble[crc & 15];
    }
    return crc;
}

// B.2 receiver, also an mp_reader_t (pyexec_blk_readbyte).  Zero it, set
// buf (max_len + 4 bytes at least), then call pyexec_blk_next per block.
typedef struct _pyexec_blk_t {
    byte *buf; // payload of the current block, then its CRC
    size_t len;
    size_t pos;
    size_t total;
    uint8_t seq; // next expected
    uint8_t naks;
    bool resync;
    bool end;
    uint32_t end_len;
    uint16_t max_len; // largest payload accepted; 0: MICROPY_PYEXEC_BLOCK_MAX
    uint8_t max_naks; // NAKs in a row tolerated; 0: MPU_PROTO_BLK_MAX_RETRIES
    bool end_raw; // E block: payload left in buf (end_n bytes), not checked as a length
    uint16_t end_n;
} pyexec_blk_t;

static size_t pyexec_blk_max(const pyexec_blk_t *blk) {
    return blk->max_len ? blk->max_len : MICROPY_PYEXEC_BLOCK_MAX;
}

static uint32_t pyexec_get_u32(const byte *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int pyexec_blk_rx(void) {
    int c = pyexec_rx_timed();
    if (c < 0) {
        mp_raise_OSError(MP_ETIMEDOUT);
    }
    return c;
}

// Longest silence inside a block.  A host writes a block in one go, so a
// longer gap means bytes were lost (e.g. an RX buffer overflow): the block
// gets a NAK at once instead of a wait for bytes that never come.
#ifndef MICROPY_PYEXEC_BLK_GAP_MS
#define MICROPY_PYEXEC_BLK_GAP_MS (200)
#endif
#if MICROPY_PYEXEC_BLK_GAP_MS >= MPU_PROTO_BREAK_GAP_MS
#error "a host's session break waits only MPU_PROTO_BREAK_GAP_MS for a block to time out"
#endif

// A byte of a block, or -1 after MICROPY_PYEXEC_BLK_GAP_MS of silence.
static int pyexec_blk_rx_gap(void) {
    #if MICROPY_PYEXEC_RX_TIMEOUT_MS
    if (!(mp_hal_stdio_poll(MP_STREAM_POLL_RD) & MP_STREAM_POLL_RD)) {
        mp_uint_t start = mp_hal_ticks_ms();
        while (!(mp_hal_stdio_poll(MP_STREAM_POLL_RD) & MP_STREAM_POLL_RD)) {
            if (mp_hal_ticks_ms() - start >= MICROPY_PYEXEC_BLK_GAP_MS) {
                return -1;
            }
            mp_event_wait_ms(1);
        }
    }
    #endif
    return mp_hal_stdin_rx_chr();
}

static bool pyexec_blk_type_ok(int t) {
    return t == MPU_PROTO_BLK_DATA || t == MPU_PROTO_BLK_END || t == MPU_PROTO_BLK_ABORT;
}

// Receives the next good block into blk->buf; ACKs it, except an E block
// (its ACK is the caller's, once the whole transfer is done).
static void pyexec_blk_next(pyexec_blk_t *blk) {
    for (;;) {
        if (blk->resync) {
            // Discard up to MPU_PROTO_RESYNC, for one timeout at most.
            size_t got = 0;
            #if MICROPY_PYEXEC_RX_TIMEOUT_MS
            mp_uint_t start = mp_hal_ticks_ms();
            #endif
            while (got < MPU_PROTO_RESYNC_LEN) {
                #if MICROPY_PYEXEC_RX_TIMEOUT_MS
                if (mp_hal_ticks_ms() - start >= MICROPY_PYEXEC_RX_TIMEOUT_MS) {
                    mp_raise_OSError(MP_ETIMEDOUT);
                }
                #endif
                int c = pyexec_blk_rx();
                if (c == (byte)MPU_PROTO_RESYNC[got]) {
                    got++;
                } else {
                    got = c == (byte)MPU_PROTO_RESYNC[0] ? 1 : 0;
                }
            }
            blk->resync = false;
        }
        int c = pyexec_blk_rx();
        if (c == CHAR_CTRL_C) {
            pyexec_raise_kbd();
        }
        if (c == '\r') {
            // Hosts write "\r\x03" to stop a program: let the 0x03 through.
            continue;
        }
        bool ok = c == MPU_PROTO_BLK_SYNC;
        byte hdr[MPU_PROTO_RESYNC_LEN - 1];
        size_t n = 0;
        for (size_t i = 0; ok && i < 4; i++) {
            ok = (c = pyexec_blk_rx_gap()) >= 0;
            hdr[i] = c;
        }
        if (ok && memcmp(hdr, &MPU_PROTO_RESYNC[1], 4) == 0) {
            // A RESYNC where a block would start (a session break): skip it.
            for (size_t i = 4; ok && i < MPU_PROTO_RESYNC_LEN - 1; i++) {
                ok = (c = pyexec_blk_rx_gap()) >= 0;
                hdr[i] = c;
            }
            if (ok && memcmp(hdr + 4, &MPU_PROTO_RESYNC[5], 3) == 0) {
                continue;
            }
            ok = false;
        }
        if (ok) {
            n = hdr[2] | hdr[3] << 8;
            ok = pyexec_blk_type_ok(hdr[0]) && n <= pyexec_blk_max(blk);
        }
        for (size_t i = 0; ok && i < n + 4; i++) {
            ok = (c = pyexec_blk_rx_gap()) >= 0;
            blk->buf[i] = c;
        }
        if (ok) {
            uint32_t crc = pyexec_crc32(MPU_PROTO_CRC32_INIT, hdr, 4);
            crc = pyexec_crc32(crc, blk->buf, n) ^ MPU_PROTO_CRC32_XOROUT;
            // An X block aborts whatever its sequence number: a host that
            // lost count (or a new session) can still stop the transfer.
            ok = crc == pyexec_get_u32(blk->buf + n)
                && (hdr[1] == blk->seq || hdr[0] == MPU_PROTO_BLK_ABORT);
        }
        if (!ok) {
            if (++blk->naks > (blk->max_naks ? blk->max_naks : MPU_PROTO_BLK_MAX_RETRIES)) {
                mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("too many bad blocks"));
            }
            byte nak[2] = { MPU_PROTO_BLK_NAK, blk->seq };
            mp_hal_stdout_tx_strn((const char *)nak, 2);
            blk->resync = true;
            continue;
        }
        blk->naks = 0;
        if (hdr[0] == MPU_PROTO_BLK_ABORT) {
            pyexec_raise_kbd();
        }
        byte ack[2] = { MPU_PROTO_BLK_ACK, blk->seq++ };
        if (hdr[0] == MPU_PROTO_BLK_END) {
            blk->end = true;
            blk->end_n = n;
            blk->end_len = n >= 4 ? pyexec_get_u32(blk->buf) : 0;
            blk->len = 0;
            if (!blk->end_raw && blk->end_len != blk->total) {
                mp_raise_msg(&mp_type_ValueError, MP_ERROR_TEXT("incompatible .mpy"));
            }
            return;
        }
        mp_hal_stdout_tx_strn((const char *)ack, 2);
        blk->len = n;
        blk->pos = 0;
        blk->total += n;
        return;
    }
}

static mp_uint_t pyexec_blk_readbyte(void *data) {
    pyexec_blk_t *blk = data;
    while (blk->pos >= blk->len) {
        if (blk->end) {
            return MP_READER_EOF;
        }
        pyexec_blk_next(blk);
    }
    return blk->buf[blk->pos++];
}

static void pyexec_blk_close(void *data) {
    (void)data;
}

// After a CAN: discards input up to the host's Ctrl-D or Ctrl-C, or one
// timeout of silence.  Blocks the host still had in flight are skipped
// whole, so a 0x04 in their payload does not end the discard early.  A
// pause of MICROPY_PYEXEC_BLK_GAP_MS ends a skip: what looked like a
// header was not one (a 0xa5 inside a block whose start was consumed
// before), and the host's Ctrl-C or session break must not be skipped.
static void pyexec_blk_drain(size_t max_len) {
    for (;;) {
        int c = pyexec_rx_timed();
        if (c < 0 || c == CHAR_CTRL_C || c == CHAR_CTRL_D) {
            return;
        }
        if (c != MPU_PROTO_BLK_SYNC) {
            continue;
        }
        byte hdr[4];
        size_t i = 0;
        while (i < 4 && (c = pyexec_blk_rx_gap()) >= 0) {
            hdr[i++] = c;
        }
        if (i < 4) {
            continue;
        }
        size_t n = hdr[2] | hdr[3] << 8;
        if (!pyexec_blk_type_ok(hdr[0]) || n > max_len) {
            continue;
        }
        for (n += MPU_PROTO_BLK_TRAILER_LEN; n && pyexec_blk_rx_gap() >= 0; n--) {
        }
    }
}

#if PYEXEC_EXT_MPY

// The loader's reader: a .mpy that ends before its module does is refused
// (mp_raw_code_load takes the EOF for 0xff bytes, on which read_uint() never
// ends: a board deaf to Ctrl-C).
static mp_uint_t pyexec_mpy_readbyte(void *data) {
    mp_uint_t c = pyexec_blk_readbyte(data);
    if (c == MP_READER_EOF) {
        mp_raise_msg(&mp_type_ValueError, MP_ERROR_TEXT("incompatible .mpy"));
    }
    return c;
}

// B.4: streamed .mpy.
static int pyexec_ext_mpy(void) {
    byte r[5] = { 'R', MPU_PROTO_NEG_ACCEPTED };
    pyexec_ext_u16(r + 2, MICROPY_PYEXEC_BLOCK_MAX);
    r[4] = MICROPY_PYEXEC_BLOCKS_IN_FLIGHT;
    mp_hal_stdout_tx_strn((const char *)r, sizeof(r));

    pyexec_blk_t blk;
    memset(&blk, 0, sizeof(blk));
    pyexec_compiled_t compiled = { NULL, MP_OBJ_NULL };
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        blk.buf = m_new(byte, MICROPY_PYEXEC_BLOCK_MAX + MPU_PROTO_BLK_TRAILER_LEN);
        mp_reader_t reader = { &blk, pyexec_mpy_readbyte, pyexec_blk_close };
        mp_compiled_module_t cm;
        cm.context = m_new_obj(mp_module_context_t);
        cm.context->module.globals = mp_globals_get();
        mp_raw_code_load(&reader, &cm);
        // Data after the module, up to the END block.
        while (pyexec_blk_readbyte(&blk) != MP_READER_EOF) {
        }
        m_del(byte, blk.buf, MICROPY_PYEXEC_BLOCK_MAX + MPU_PROTO_BLK_TRAILER_LEN);
        blk.buf = NULL;
        pyexec_funs_t *tail = NULL;
        compiled.funs = pyexec_funs_append(&tail, mp_make_function_from_proto_fun(cm.rc, cm.context, NULL));
        nlr_pop();
    } else {
        blk.buf = NULL;
        #if MICROPY_ENABLE_GC
        gc_collect();
        #endif
        pyexec_ext_report("\x18", MP_OBJ_FROM_PTR(nlr.ret_val));
        pyexec_blk_drain(MICROPY_PYEXEC_BLOCK_MAX);
        return 0;
    }
    byte ack[2] = { MPU_PROTO_BLK_ACK, (byte)(blk.seq - 1) };
    mp_hal_stdout_tx_strn((const char *)ack, 2);
    return parse_compile_execute(&compiled, MP_PARSE_FILE_INPUT, EXEC_FLAG_PRINT_EOF | EXEC_FLAG_SOURCE_IS_COMPILED);
}

#endif // PYEXEC_EXT_MPY

// B.5: file transfer.
#if MICROPY_PYEXEC_FILE
#include "pyexec_file.c"
#endif

// B.6: streamed execution in checked blocks.
#include "pyexec_checked.c"

// Sub-commands of the raw-paste negotiation other than 'A'.
static int pyexec_ext(int c) {
    switch (c) {
        case MPU_PROTO_SUB_INFO:
            pyexec_ext_info();
            return 0;
        case MPU_PROTO_SUB_EXEC_STREAM:
            pyexec_ext_stream();
            return 0;
        #if PYEXEC_EXT_MPY
        case MPU_PROTO_SUB_MPY:
            return pyexec_ext_mpy();
        #endif
        #if MICROPY_PYEXEC_FILE
        case MPU_PROTO_SUB_FILE:
            pyexec_ext_file();
            return 0;
        #endif
        case MPU_PROTO_SUB_EXEC_CHECKED:
            return pyexec_ext_checked();
        default:
            // The block receiver is built for every port (B.6 uses it);
            // keep it referenced where no sub-command does yet.
            (void)pyexec_blk_readbyte;
            (void)pyexec_blk_close;
            (void)pyexec_blk_drain;
            // Unsupported command.
            mp_hal_stdout_tx_strn("R\x00", 2);
            return 0;
    }
}
