import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Registered on the server at start (dev server flags, or `temporal operator search-attribute create`). */
export const ShopIdKey = defineSearchAttributeKey('ShopId', SearchAttributeType.KEYWORD);
export const OrderIdKey = defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD);
export const SkuKey = defineSearchAttributeKey('Sku', SearchAttributeType.KEYWORD_LIST);
export const ReservationStateKey = defineSearchAttributeKey('ReservationState', SearchAttributeType.KEYWORD);
export const SourceKey = defineSearchAttributeKey('Source', SearchAttributeType.KEYWORD);

/** Name=Type pairs in the CLI's `--search-attribute` syntax. */
export const SEARCH_ATTRIBUTE_FLAGS = ['ShopId=Keyword', 'OrderId=Keyword', 'Sku=KeywordList', 'ReservationState=Keyword', 'Source=Keyword'];
