/* cloudgate libvirt driver: what lv_netstate.c and lv_sgstate.c share: a
 * table read into a malloc'd array of structs, each with an optional tag
 * set, and the tags of one row changed. */
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
 * (reported; *v is left as it was).  Room doubles when n reaches a power of
 * two, so reading N rows moves them log N times, not N: *v must have been
 * grown from NULL by this function only. */
void *lv_rows_grow(void **v, size_t n, size_t size, cg_error *err);

/* The tags of id (sql selects key, value; binds id) into tags.  0 or -1. */
int lv_rows_read_tags(sqlite3 *db, const char *sql, const char *id, cg_tags *tags,
                      cg_error *err);

/* Every row of k into *v (malloc'd array of *n), under st's lock.  0, or
 * -1 with *v NULL and *n 0 (what was read is released). */
int lv_rows_read(lv_state *st, const lv_row_kind *k, void **v, size_t *n, cg_error *err);

/* Rows that start with a NUL-terminated id (an instance's NICs, group
 * memberships): sort them by it (stable; 0, or -1 on OOM, unsorted), then
 * find the first row of an id (n when none) in O(log n), so that matching
 * N instances to their rows is not N x rows string compares. */
int lv_rows_sort_by_id(void *v, size_t n, size_t size);
size_t lv_rows_find_id(const void *v, size_t n, size_t size, const char *id);

/* Where the tags of one kind of row live, for lv_rows_tags_edit. */
typedef struct lv_tag_table {
    const char *exists_sql;   /* selects 1 for an existing id (binds it) */
    const char *table, *id_col;
    const char *what;         /* the error's noun: "vpc" -> "vpc ID does not exist" */
} lv_tag_table;

/* Set (remove 0) or remove tags of id in t, in one transaction under st's
 * lock; an id that is not there: CG_ERR_NOT_FOUND.  0 or -1. */
int lv_rows_tags_edit(lv_state *st, const lv_tag_table *t, const char *id, const cg_tags *tags,
                      int remove, cg_error *err);

#endif
