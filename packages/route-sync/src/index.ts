// @weft/route-sync: public surface (filled by its issue).
export {};
