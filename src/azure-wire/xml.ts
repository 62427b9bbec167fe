// XML on the Azure wire: a tiny writer (escape + element helpers, string concatenation, no DOM) and a
// reader over fast-xml-parser that turns malformed documents into `InvalidXmlDocument`.
//
// Writing is on the hot path of every listing, so it is plain string building. Reading happens only for
// the few operations with XML bodies (block lists, ACLs, service properties), always on a size-capped
// buffer; it keeps element order, because Put Block List's meaning depends on the order of mixed
// <Committed>/<Uncommitted>/<Latest> elements.
//
// DOCTYPE declarations are refused outright: no Azure request body uses one, and refusing them rules
// out entity-expansion attacks whatever the parser's defaults are.

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ServiceError } from '../platform/errors.js';

export const XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>';

const XML_SPECIAL = /[&<>"']/;
const XML_SPECIAL_ALL = /[&<>"']/g;
const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
// Characters XML 1.0 cannot carry at all, even escaped.
const XML_INVALID_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

export function escapeXml(text: string): string {
  return XML_SPECIAL.test(text) ? text.replace(XML_SPECIAL_ALL, (ch) => ENTITIES[ch] ?? ch) : text;
}

/** True when the text cannot appear in XML 1.0 even escaped (Azure then percent-encodes, `Encoded="true"`). */
export function hasInvalidXmlChars(text: string): boolean {
  return XML_INVALID_CHARS.test(text);
}

/** `<name>value</name>`; an empty element for ''. */
export function el(name: string, value: string | number | boolean): string {
  const text = typeof value === 'string' ? escapeXml(value) : String(value);
  return text === '' ? `<${name} />` : `<${name}>${text}</${name}>`;
}

/** `el` when the value is present, nothing otherwise. */
export function optEl(name: string, value: string | number | boolean | undefined | null): string {
  return value === undefined || value === null ? '' : el(name, value);
}

/**
 * UTF-8 bytes appended piece by piece into one growing Buffer: for bodies of megabytes (a 5,000-blob
 * listing), each piece is encoded once and then dropped, instead of being kept alive until a final
 * join and encoded again when the string is written to the socket.
 */
export class Utf8Builder {
  #buffer: Buffer;
  #length = 0;

  constructor(capacityBytes: number) {
    this.#buffer = Buffer.allocUnsafe(Math.max(capacityBytes, 1024));
  }

  append(text: string): void {
    // A UTF-16 code unit takes at most 3 UTF-8 bytes, so this much room always suffices.
    const needed = this.#length + text.length * 3;
    if (needed > this.#buffer.length) this.#grow(needed);
    this.#length += this.#buffer.write(text, this.#length, 'utf8');
  }

  /** The bytes appended so far (a view of the builder's buffer, not a copy). */
  bytes(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }

  #grow(needed: number): void {
    const next = Buffer.allocUnsafe(Math.max(needed, this.#buffer.length * 2));
    this.#buffer.copy(next, 0, 0, this.#length);
    this.#buffer = next;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/** An element with its child elements in document order and its own (trimmed) text. */
export interface XmlElement {
  name: string;
  text: string;
  children: XmlElement[];
}

// Configuration only; the parser keeps no state between documents.
const PARSER = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
});

const DOCTYPE = /<!DOCTYPE/i;

/**
 * The root element of a document, or undefined for an empty body (several Azure operations treat an
 * empty body as an empty list). Malformed XML → ServiceError `InvalidXmlDocument`.
 */
export function parseXml(text: string): XmlElement | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (DOCTYPE.test(trimmed) || XMLValidator.validate(trimmed) !== true) throw new ServiceError('InvalidXmlDocument');
  let nodes: unknown;
  try {
    nodes = PARSER.parse(trimmed);
  } catch {
    throw new ServiceError('InvalidXmlDocument');
  }
  const roots = toElements(nodes);
  if (roots.length !== 1) throw new ServiceError('InvalidXmlDocument');
  return roots[0];
}

/** First child with that name. */
export function child(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((c) => c.name === name);
}

/** Text of the first child with that name. */
export function childText(element: XmlElement, name: string): string | undefined {
  return child(element, name)?.text;
}

// preserveOrder output: [{ Tag: [ ...children ], ':@'?: attrs }, { '#text': 'x' }, ...]
function toElements(nodes: unknown): XmlElement[] {
  if (!Array.isArray(nodes)) return [];
  const result: XmlElement[] = [];
  for (const node of nodes) {
    if (typeof node !== 'object' || node === null) continue;
    for (const [key, value] of Object.entries(node)) {
      if (key === ':@' || key === '#text') continue;
      result.push({ name: key, text: textOf(value), children: toElements(value) });
    }
  }
  return result;
}

function textOf(nodes: unknown): string {
  if (!Array.isArray(nodes)) return '';
  let text = '';
  for (const node of nodes) {
    if (typeof node === 'object' && node !== null && '#text' in node) text += String((node as { '#text': unknown })['#text']);
  }
  return text;
}
