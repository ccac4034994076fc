import Foundation

/// Darknet's (pjreddie) image preprocessing, reproduced operation for operation in Float so that a
/// converted network sees bit-for-bit the input Darknet gives its own network.
public enum Letterbox {
    /// Darknet's `letterbox_image(im, width, height)`: scale to fit keeping the aspect ratio (integer
    /// arithmetic as in src/image.c), resize with `resize_image`, and embed centred in a canvas of 0.5.
    /// Returns HWC floats, `width * height * 3` of them.
    public static func darknet(_ image: RGBImage, width: Int, height: Int) -> [Float] {
        precondition(width > 0 && height > 0, "Letterbox.darknet: size \(width)x\(height)")
        let c = 3
        var out = [Float](repeating: 0.5, count: width * height * c)
        guard image.width > 0, image.height > 0 else { return out }
        var newW = image.width, newH = image.height
        if Float(width) / Float(image.width) < Float(height) / Float(image.height) {
            newW = width
            newH = (image.height * width) / image.width
        } else {
            newH = height
            newW = (image.width * height) / image.height
        }
        // A very thin image can round to 0; Darknet would then build an empty image. Keep one row/column.
        newW = max(newW, 1); newH = max(newH, 1)
        let resized = resize(image, width: newW, height: newH)
        // embed_image(resized, boxed, dx, dy): pixels outside the canvas are dropped.
        let dx = (width - newW) / 2, dy = (height - newH) / 2
        resized.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<newH {
                    let ty = y + dy
                    guard ty >= 0, ty < height else { continue }
                    for x in 0..<newW {
                        let tx = x + dx
                        guard tx >= 0, tx < width else { continue }
                        let s = (y * newW + x) * c, d = (ty * width + tx) * c
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return out
    }

    /// Darknet's `resize_image`: two-pass bilinear, horizontally into a `width x image.height` image,
    /// then vertically, with Darknet's index arithmetic (`w_scale = (im.w - 1) / (w - 1)`, the last
    /// column copied, the last row only weighted by `1 - dy`).
    public static func resize(_ image: RGBImage, width w: Int, height h: Int) -> RGBImage {
        precondition(w > 0 && h > 0, "Letterbox.resize: size \(w)x\(h)")
        let c = 3
        let imW = image.width, imH = image.height
        guard imW > 0, imH > 0 else { return RGBImage(width: w, height: h, pixels: [Float](repeating: 0, count: w * h * c)) }
        let wScale = Float(imW - 1) / Float(w - 1)   // inf when w == 1: only the last-column branch runs then
        let hScale = Float(imH - 1) / Float(h - 1)
        var part = [Float](repeating: 0, count: w * imH * c)
        var resized = [Float](repeating: 0, count: w * h * c)
        image.pixels.withUnsafeBufferPointer { im in
            part.withUnsafeMutableBufferPointer { part in
                for r in 0..<imH {
                    for col in 0..<w {
                        let o = (r * w + col) * c
                        if col == w - 1 || imW == 1 {
                            let s = (r * imW + imW - 1) * c
                            for k in 0..<c { part[o + k] = im[s + k] }
                        } else {
                            let sx = Float(col) * wScale
                            let ix = min(Int(sx), imW - 2)   // Darknet: (int) sx, always <= im.w - 2 here
                            let dx = sx - Float(ix)
                            let s = (r * imW + ix) * c
                            for k in 0..<c {
                                let a = (1 - dx) * im[s + k]
                                let b = dx * im[s + c + k]
                                part[o + k] = a + b
                            }
                        }
                    }
                }
            }
        }
        part.withUnsafeBufferPointer { part in
            resized.withUnsafeMutableBufferPointer { out in
                for r in 0..<h {
                    // h == 1: Darknet computes 0 * inf (NaN); take row 0, which is what it means.
                    let sy = h == 1 ? 0 : Float(r) * hScale
                    let iy = min(Int(sy), imH - 1)
                    let dy = sy - Float(iy)
                    let rowOut = r * w * c, rowIn = iy * w * c
                    for i in 0..<(w * c) { out[rowOut + i] = (1 - dy) * part[rowIn + i] }
                    if r == h - 1 || imH == 1 || iy + 1 >= imH { continue }
                    let next = (iy + 1) * w * c
                    for i in 0..<(w * c) { out[rowOut + i] += dy * part[next + i] }
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: resized)
    }
}
