/* The one file that includes libserialport.h. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libserialport.h>

#include "err.h"
#include "serial.h"

/* USB vendor IDs of boards that commonly run MicroPython, or their bridges. */
static const struct {
    int vid;
    int strong; /* 1: the VID alone says MicroPython; 0: a serial bridge */
} known_vids[] = {
    { 0xf055, 1 }, /* MicroPython (pyboard, unix-style CDC ports) */
    { 0x2e8a, 1 }, /* Raspberry Pi (Pico) */
    { 0x303a, 1 }, /* Espressif native USB */
    { 0x239a, 1 }, /* Adafruit */
    { 0x0d28, 1 }, /* ARM DAPLink (micro:bit) */
    { 0x10c4, 0 }, /* Silicon Labs CP210x */
    { 0x1a86, 0 }, /* WCH CH340 */
    { 0x0403, 0 }, /* FTDI */
};

static void copy(char *dst, size_t n, const char *src) {
    snprintf(dst, n, "%s", src ? src : "");
}

static int cmp_port(const void *a, const void *b) {
    return strcmp(((const struct mpu_port_info *)a)->name,
        ((const struct mpu_port_info *)b)->name);
}

int mpu_serial_list(struct mpu_port_info **ports) {
    struct sp_port **list = NULL;
    *ports = NULL;
    if (sp_list_ports(&list) != SP_OK) {
        return MPU_ERR_LINK;
    }
    size_t n = 0;
    while (list[n]) {
        n++;
    }
    struct mpu_port_info *p = calloc(n ? n : 1, sizeof(*p));
    if (!p) {
        sp_free_port_list(list);
        return MPU_ERR_MEM;
    }
    for (size_t i = 0; i < n; i++) {
        struct sp_port *sp = list[i];
        copy(p[i].name, sizeof(p[i].name), sp_get_port_name(sp));
        copy(p[i].description, sizeof(p[i].description), sp_get_port_description(sp));
        if (sp_get_port_transport(sp) == SP_TRANSPORT_USB) {
            p[i].usb = 1;
            sp_get_port_usb_vid_pid(sp, &p[i].vid, &p[i].pid);
            copy(p[i].manufacturer, sizeof(p[i].manufacturer), sp_get_port_usb_manufacturer(sp));
            copy(p[i].serial, sizeof(p[i].serial), sp_get_port_usb_serial(sp));
            for (size_t k = 0; k < sizeof(known_vids) / sizeof(known_vids[0]); k++) {
                if (known_vids[k].vid == p[i].vid) {
                    p[i].likely = 1;
                }
            }
            const char *prod = sp_get_port_usb_product(sp);
            if ((prod && strstr(prod, "MicroPython")) || strstr(p[i].description, "MicroPython")) {
                p[i].likely = 1;
            }
        }
    }
    sp_free_port_list(list);
    qsort(p, n, sizeof(*p), cmp_port);
    *ports = p;
    return (int)n;
}

int mpu_serial_open(const char *name, int baud, int dtr, int rts, int *fd,
    void **handle, char *err, size_t err_len) {
    struct sp_port *sp = NULL;
    enum sp_return r = sp_get_port_by_name(name, &sp);
    if (r != SP_OK) {
        /* libserialport 0.1.1 refuses ptys and symlinks this way; the caller falls back. */
        snprintf(err, err_len, "%s: libserialport refused the name", name);
        return MPU_ERR_ARG;
    }
    struct sp_port_config *cfg = NULL;
    if (sp_open(sp, SP_MODE_READ_WRITE) != SP_OK) {
        char *msg = sp_last_error_message();
        snprintf(err, err_len, "%s: %s", name, msg ? msg : "cannot open");
        sp_free_error_message(msg);
        sp_free_port(sp);
        return MPU_ERR_LINK;
    }
    if (sp_new_config(&cfg) != SP_OK
        || sp_set_config_baudrate(cfg, baud) != SP_OK
        || sp_set_config_bits(cfg, 8) != SP_OK
        || sp_set_config_parity(cfg, SP_PARITY_NONE) != SP_OK
        || sp_set_config_stopbits(cfg, 1) != SP_OK
        || sp_set_config_flowcontrol(cfg, SP_FLOWCONTROL_NONE) != SP_OK) {
        snprintf(err, err_len, "%s: cannot build the port configuration", name);
        goto fail;
    }
    /* Leave DTR/RTS as they are unless asked, so ESP boards aren't reset into the bootloader. */
    sp_set_config_dtr(cfg, dtr < 0 ? SP_DTR_INVALID : dtr ? SP_DTR_ON : SP_DTR_OFF);
    sp_set_config_rts(cfg, rts < 0 ? SP_RTS_INVALID : rts ? SP_RTS_ON : SP_RTS_OFF);
    if (sp_set_config(sp, cfg) != SP_OK) {
        char *msg = sp_last_error_message();
        snprintf(err, err_len, "%s: cannot configure the port (baud %d): %s", name, baud,
            msg ? msg : "?");
        sp_free_error_message(msg);
        goto fail;
    }
    sp_free_config(cfg);
    int h = -1;
    sp_get_port_handle(sp, &h);
    fcntl(h, F_SETFL, fcntl(h, F_GETFL) | O_NONBLOCK);
    *fd = h;
    *handle = sp;
    return MPU_OK;
fail:
    sp_free_config(cfg);
    sp_close(sp);
    sp_free_port(sp);
    return MPU_ERR_LINK;
}

void mpu_serial_close(void *handle) {
    if (handle) {
        sp_close(handle);
        sp_free_port(handle);
    }
}
