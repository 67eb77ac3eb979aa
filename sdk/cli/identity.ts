// `capsa identity …`: keys stored as dfx stores them, `<home>/identity/<name>/identity.pem` (plaintext
// PEM: Ed25519 as PKCS#8 v2 like ring writes it, or secp256k1 as SEC1 "EC PRIVATE KEY"), and the
// selected one in `<home>/identity.json` as `{"default": name}`. Home is $CAPSA_HOME or ~/.config/capsa.

import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AnonymousIdentity, type Identity } from '@dfinity/agent'
import { Ed25519KeyIdentity } from '@dfinity/identity'
import { Secp256k1KeyIdentity } from '@dfinity/identity-secp256k1'
import { capsaHome, fail, type Globals, progress } from './util.ts'

const NAME = /^[A-Za-z0-9._@-]+$/
const ANONYMOUS = 'anonymous'
const ED25519_V2_PREFIX = Buffer.from('3053020101300506032b657004220420', 'hex')
const ED25519_V2_MIDDLE = Buffer.from('a123032100', 'hex')

function identityDir(name: string): string {
  return join(capsaHome(), 'identity', name)
}

function pemPath(name: string): string {
  return join(identityDir(name), 'identity.pem')
}

function checkName(name: string): void {
  if (!NAME.test(name)) fail(`${JSON.stringify(name)} is not a valid identity name`, 'use letters, digits, ".", "_", "@" or "-"')
}

function ed25519Pem(seed: Uint8Array, pub: Uint8Array): string {
  const der = Buffer.concat([ED25519_V2_PREFIX, seed, ED25519_V2_MIDDLE, pub])
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`
}

/** Parses a PEM private key into an agent identity; `what` names its origin for errors. */
export function identityFromPem(pem: string, what: string): Identity {
  let key: KeyObject
  try {
    key = createPrivateKey({ key: pem, format: 'pem' })
  } catch (e) {
    fail(`${what} is not a PEM private key (${(e as Error).message})`, 'pass a PEM file as `dfx identity export` writes it (Ed25519 or secp256k1, not password-protected)')
  }
  const jwk = key.export({ format: 'jwk' }) as { crv?: string; d?: string }
  const d = jwk.d === undefined ? undefined : new Uint8Array(Buffer.from(jwk.d, 'base64url'))
  if (key.asymmetricKeyType === 'ed25519' && d) return Ed25519KeyIdentity.fromSecretKey(d)
  if (key.asymmetricKeyType === 'ec' && jwk.crv === 'secp256k1' && d) return Secp256k1KeyIdentity.fromSecretKey(d)
  fail(`${what} holds a ${key.asymmetricKeyType}${jwk.crv ? ` ${jwk.crv}` : ''} key`, 'use an Ed25519 or secp256k1 key')
}

function readConfig(): { default?: string } {
  try {
    return JSON.parse(readFileSync(join(capsaHome(), 'identity.json'), 'utf8')) as { default?: string }
  } catch {
    return {}
  }
}

function writeConfig(c: { default: string }): void {
  mkdirSync(capsaHome(), { recursive: true })
  writeFileSync(join(capsaHome(), 'identity.json'), JSON.stringify(c, null, 2) + '\n')
}

function writePem(name: string, pem: string): void {
  mkdirSync(identityDir(name), { recursive: true, mode: 0o700 })
  writeFileSync(pemPath(name), pem, { mode: 0o600 })
  chmodSync(pemPath(name), 0o600)
}

export function createIdentity(name: string, force = false): void {
  checkName(name)
  if (name === ANONYMOUS) fail('"anonymous" is reserved for the anonymous identity', 'choose another name')
  if (existsSync(pemPath(name)) && !force) fail(`identity ${JSON.stringify(name)} already exists`, 'choose another name, or pass --force to replace it')
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const seed = Buffer.from((privateKey.export({ format: 'jwk' }) as { d: string }).d, 'base64url')
  const pub = Buffer.from((createPublicKey(privateKey).export({ format: 'jwk' }) as { x: string }).x, 'base64url')
  void publicKey
  writePem(name, ed25519Pem(seed, pub))
}

/** The selected identity's name: --identity, else the default (created on first use, as dfx does). */
export function selectedName(g: Globals): string {
  if (g.identity !== undefined) return g.identity
  const c = readConfig()
  if (c.default !== undefined) return c.default
  if (!existsSync(pemPath('default'))) {
    progress('Creating the "default" identity (plaintext PEM in ' + identityDir('default') + ').')
    createIdentity('default')
  }
  writeConfig({ default: 'default' })
  return 'default'
}

export function loadIdentity(g: Globals): Identity {
  const name = selectedName(g)
  if (name === ANONYMOUS) return new AnonymousIdentity()
  checkName(name)
  if (!existsSync(pemPath(name))) fail(`there is no identity named ${JSON.stringify(name)}`, 'see `capsa identity list`, or create it with `capsa identity new ' + name + '`')
  return identityFromPem(readFileSync(pemPath(name), 'utf8'), `identity ${JSON.stringify(name)}`)
}

export function listIdentities(): string[] {
  let names: string[] = []
  try {
    names = readdirSync(join(capsaHome(), 'identity')).filter((n) => existsSync(pemPath(n)))
  } catch {
    // no identities yet
  }
  return [ANONYMOUS, ...names].sort()
}

export function useIdentity(name: string): void {
  checkName(name)
  if (name !== ANONYMOUS && !existsSync(pemPath(name))) fail(`there is no identity named ${JSON.stringify(name)}`, 'create it with `capsa identity new ' + name + '` or import one')
  writeConfig({ default: name })
}

export function importIdentity(name: string, pem: string, source: string, force = false): Identity {
  checkName(name)
  if (name === ANONYMOUS) fail('"anonymous" is reserved for the anonymous identity', 'choose another name')
  if (existsSync(pemPath(name)) && !force) fail(`identity ${JSON.stringify(name)} already exists`, 'choose another name, or pass --force to replace it')
  const id = identityFromPem(pem, source)
  writePem(name, pem.endsWith('\n') ? pem : pem + '\n')
  return id
}

export function exportIdentity(name: string): string {
  checkName(name)
  if (name === ANONYMOUS) fail('the anonymous identity has no key to export', 'export a named identity (see `capsa identity list`)')
  if (!existsSync(pemPath(name))) fail(`there is no identity named ${JSON.stringify(name)}`, 'see `capsa identity list`')
  return readFileSync(pemPath(name), 'utf8')
}

export function removeIdentity(name: string, g: Globals): void {
  checkName(name)
  if (!existsSync(pemPath(name))) fail(`there is no identity named ${JSON.stringify(name)}`, 'see `capsa identity list`')
  if (readConfig().default === name) fail(`identity ${JSON.stringify(name)} is in use`, 'select another with `capsa identity use <name>` first')
  void g
  rmSync(identityDir(name), { recursive: true, force: true })
}
