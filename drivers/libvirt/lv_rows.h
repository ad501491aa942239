/* cloudgate libvirt driver: a table read into a malloc'd array of structs,
 * each with an optional tag set (what lv_netstate.c and lv_sgstate.c share). */
#ifndef LV_ROWS_H
#define LV_ROWS_H

#include <stddef.h>

#include <sqlite3.h>

#include "../driver.h"
#include "lv_state.h"

/* How one list is read: its query (no parameters), its tags' query (NULL:
 * no tags; else selects key, value and binds the element's id), and where
 * an element keeps its id and tags. */
typedef struct lv_row_kind {
    const char *sql;
    const char *tags_sql;
    size_t size, id_at, tags_at;
    void (*from_row)(sqlite3_stmt *s, void *elem);
} lv_row_kind;

/* Grow *v (n elements of size) by one zeroed element: its address, or NULL
 * (reported; *v is left as it was). */
void *lv_rows_grow(void **v, size_t n, size_t size, cg_error *err);

/* The tags of id (sql selects key, value; binds id) into tags.  0 or -1. */
int lv_rows_read_tags(sqlite3 *db, const char *sql, const char *id, cg_tags *tags,
                      cg_error *err);

/* Every row of k into *v (malloc'd array of *n), under st's lock.  0, or
 * -1 with *v NULL and *n 0 (what was read is released). */
int lv_rows_read(lv_state *st, const lv_row_kind *k, void **v, size_t *n, cg_error *err);

#endif
