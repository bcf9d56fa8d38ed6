/** Room and stream names: 1-128 of `A-Za-z0-9._:-` (the contract's rule). */
export const CHANNEL_NAME = /^[A-Za-z0-9._:-]{1,128}$/;
