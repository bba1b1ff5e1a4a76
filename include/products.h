/*
 * products.h
 *	  Data products: checks run as the view's owner, comment sync, and the
 *	  governed purge of source rows.
 */
#ifndef LV_PRODUCTS_H
#define LV_PRODUCTS_H

/* true while lambda_views.purge() deletes from relid (or its partition root) */
extern bool lv_purge_allows(Oid relid);

#endif							/* LV_PRODUCTS_H */
